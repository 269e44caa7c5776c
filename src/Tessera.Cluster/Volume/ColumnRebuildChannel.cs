using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Volume;

/// <summary>
/// The rebuild coordinator's calls to nodes (types 105-106 on the parts link, whose requests may wait
/// for stripe locks); calls to this node go straight to its <see cref="RebuildFrameHandler"/>.
/// Failures arrive as the volume exceptions (<see cref="VolumeErrors"/>).
/// </summary>
internal sealed class ColumnRebuildChannel(NodeId self, RebuildFrameHandler local, PeerLinkSet links, TimeSpan timeout)
{
    /// <summary>Arms <paramref name="target"/> for a rebuild of <paramref name="stale"/>'s columns.</summary>
    public async Task BeginAsync(NodeId target, NodeId stale, CancellationToken cancellationToken)
    {
        if (target == self)
        {
            local.Begin(stale);
            return;
        }

        using Response response = await SendAsync(target, MessageType.VolumeRebuildBegin, stale, static (w, s) => RebuildFrames.WriteBegin(w, s), cancellationToken).ConfigureAwait(false);
        if (response.Payload.Length != 0)
        {
            throw new IOException($"node {target} answered a rebuild begin with {response.Payload.Length} bytes");
        }
    }

    /// <summary>Has <paramref name="owner"/> rebuild <paramref name="stale"/>'s column of every stripe of the sub-unit; returns the stripes done.</summary>
    public async Task<long> RebuildSubUnitAsync(NodeId owner, Guid volume, long subUnit, long epoch, NodeId stale, CancellationToken cancellationToken)
    {
        if (owner == self)
        {
            return await local.RebuildSubUnitAsync(volume, subUnit, epoch, stale, cancellationToken).ConfigureAwait(false);
        }

        using Response response = await SendAsync(owner, MessageType.VolumeRebuildSubUnit, (volume, subUnit, epoch, stale),
            static (w, s) => RebuildFrames.WriteSubUnit(w, s.volume, s.subUnit, s.epoch, s.stale), cancellationToken).ConfigureAwait(false);
        return RebuildFrames.TryReadSubUnitResponse(response.Span, out long stripes)
            ? stripes
            : throw new IOException($"node {owner} answered a sub-unit rebuild with {response.Payload.Length} bytes");
    }

    private async Task<Response> SendAsync<TState>(NodeId target, ushort type, TState state, PayloadWriter<TState> write, CancellationToken cancellationToken)
    {
        Response response;
        try
        {
            response = await links.Parts(target).SendRequestAsync(type, state, write, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (InterNodeException ex)
        {
            throw RemoteChunkChannel.Translate(target, ex);
        }

        if (!response.IsSuccess)
        {
            using (response)
            {
                throw VolumeErrors.ToException(response.Status, response.Span, target);
            }
        }

        return response;
    }
}
