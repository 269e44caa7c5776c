using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Volume;

/// <summary>
/// <see cref="IOwnerChannel"/> over the inter-node protocol (docs/distributed-volume.md §12). A part
/// for this node goes straight to the local <see cref="SubUnitOwner"/>. A part for another node:
/// <list type="bullet">
/// <item>not ordered: one VolumeOwnerPart request on the parts link; the response carries the
/// miscompare and, for a degraded read, the bytes (copied once into the caller's buffer);</item>
/// <item>ordered (several owners): one-way VolumeOrderedPart on the control link, answered by a
/// PartDone frame through <see cref="OrderedPartTable"/>; tokens and finals travel between the
/// owners themselves (<see cref="VolumeTokenTransport"/>).</item>
/// </list>
/// Failures arrive as the exceptions the portal expects: an unreachable node is
/// <see cref="NodeUnavailableException"/>, a stale map <see cref="StaleOwnershipException"/>.
/// </summary>
internal sealed class RemoteOwnerChannel(NodeId self, Func<Guid, SubUnitOwner?> localOwner, PeerLinkSet links, INodeLiveness liveness,
    OrderedPartTable ordered, TimeSpan partTimeout, NetworkJitter? jitter = null) : IOwnerChannel
{
    public ValueTask<int> ExecuteAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken = default)
    {
        if (!liveness.IsUp(owner))
        {
            return ValueTask.FromException<int>(new NodeUnavailableException(owner));
        }

        if (owner == self)
        {
            SubUnitOwner? local = localOwner(request.Volume);
            return local is null
                ? ValueTask.FromException<int>(new InvalidOperationException($"volume {request.Volume} is not open on {self}"))
                : jitter is null ? local.ExecuteAsync(request, cancellationToken) : LocalLaterAsync(local, request, cancellationToken);
        }

        return request.IsOrdered ? new ValueTask<int>(SendOrderedAsync(owner, request, cancellationToken)) : SendPartAsync(owner, request, cancellationToken);
    }

    private async ValueTask<int> LocalLaterAsync(SubUnitOwner local, OwnerRequest request, CancellationToken cancellationToken)
    {
        await jitter!.DelayAsync().ConfigureAwait(false);
        return await local.ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendPartAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken)
    {
        if (jitter is not null)
        {
            await jitter.DelayAsync().ConfigureAwait(false);
        }

        Response response;
        try
        {
            response = await links.Parts(owner).SendRequestAsync(MessageType.VolumeOwnerPart, request, OwnerPartFrame.Writer, partTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (InterNodeException ex)
        {
            throw RemoteChunkChannel.Translate(owner, ex);
        }

        using (response)
        {
            ReadOnlySpan<byte> payload = response.Span;
            if (!response.IsSuccess)
            {
                throw VolumeErrors.ToException(response.Status, payload, owner);
            }

            int expected = 4 + (request.Operation == OwnerOperation.Read ? SegmentBytes(request) : 0);
            if (payload.Length != expected)
            {
                throw new IOException($"node {owner} answered a {request.Operation} part with {payload.Length} bytes, {expected} expected");
            }

            if (request.Operation == OwnerOperation.Read)
            {
                // The owner sent the segments' bytes back to back; each goes to its place in the caller's buffer.
                int at = 4;
                Span<byte> destination = request.Destination.Span;
                foreach (OwnerSegment segment in request.Segments)
                {
                    payload.Slice(at, (int)segment.Length).CopyTo(destination[(int)segment.BufferOffset..]);
                    at += (int)segment.Length;
                }
            }

            return BinaryPrimitives.ReadInt32BigEndian(payload);
        }
    }

    private async Task<int> SendOrderedAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken)
    {
        Task<int> done = ordered.Register(request.Id, owner, request, Environment.TickCount64 + (long)partTimeout.TotalMilliseconds);
        try
        {
            if (jitter is not null)
            {
                await jitter.DelayAsync().ConfigureAwait(false);
            }

            await links.Control(owner).SendOneWayAsync(MessageType.VolumeOrderedPart, request, OwnerPartFrame.Writer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ordered.Remove(request.Id, owner);
            throw ex is InterNodeException ? RemoteChunkChannel.Translate(owner, ex) : ex;
        }

        return await done.ConfigureAwait(false);
    }

    private static int SegmentBytes(OwnerRequest request)
    {
        long bytes = 0;
        foreach (OwnerSegment segment in request.Segments)
        {
            bytes += segment.Length;
        }

        return checked((int)bytes);
    }
}
