using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's side of the stale-column rebuild, types 105-106 (<see cref="RebuildFrames"/>): Begin arms
/// the node's <see cref="ColumnRebuilds"/> session for the stale node; SubUnit has this node's owner
/// rebuild the stale column of every stripe of one of its sub-units while the request waits. The same
/// methods serve the coordinator when it is this node (<see cref="ColumnRebuildChannel"/>).
/// </summary>
internal sealed class RebuildFrameHandler(NodeId self, ColumnRebuilds rebuilds, Func<Guid, NodeVolume?> volumes, Func<IEnumerable<Guid>> openVolumes,
    INodeLiveness liveness) : IFrameHandler
{
    public static void RegisterOn(InterNodeServer server, RebuildFrameHandler handler)
    {
        server.Register(MessageType.VolumeRebuildBegin, handler);
        server.Register(MessageType.VolumeRebuildSubUnit, handler);
    }

    public async ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        try
        {
            switch (frame.MessageType)
            {
                case MessageType.VolumeRebuildBegin:
                    if (!RebuildFrames.TryReadBegin(frame.Payload.Span, out NodeId node))
                    {
                        throw Malformed(frame);
                    }

                    Begin(node);
                    return FrameStatus.Ok;
                case MessageType.VolumeRebuildSubUnit:
                    if (!RebuildFrames.TryReadSubUnit(frame.Payload.Span, out Guid volume, out long subUnit, out long epoch, out NodeId stale))
                    {
                        throw Malformed(frame);
                    }

                    long stripes = await RebuildSubUnitAsync(volume, subUnit, epoch, stale, cancellationToken).ConfigureAwait(false);
                    RebuildFrames.WriteSubUnitResponse(response, stripes);
                    return FrameStatus.Ok;
                default:
                    throw new ArgumentException($"message type {frame.MessageType} is not a rebuild message");
            }
        }
        catch (Exception ex)
        {
            return VolumeErrors.Write(response, ex);
        }
    }

    /// <summary>Arms this node for a rebuild of <paramref name="stale"/>'s columns, covering the volumes open here now.</summary>
    public void Begin(NodeId stale)
    {
        CheckUp();
        rebuilds.Begin(stale, openVolumes());
    }

    /// <summary>This node's owner rebuilds <paramref name="stale"/>'s column of every stripe of the sub-unit.</summary>
    public async Task<long> RebuildSubUnitAsync(Guid volume, long subUnit, long epoch, NodeId stale, CancellationToken cancellationToken)
    {
        CheckUp();
        NodeVolume opened = volumes(volume) ?? throw new InvalidOperationException($"volume {volume} is not open on {self}");
        RebuiltStripes set = rebuilds.Rebuilding(stale, opened.Layout);
        return await opened.Owner.RebuildSubUnitAsync(subUnit, epoch, stale, set, cancellationToken).ConfigureAwait(false);
    }

    private void CheckUp()
    {
        if (!liveness.IsUp(self))
        {
            throw new NodeUnavailableException(self);
        }
    }

    private static ArgumentException Malformed(InboundFrame frame) =>
        new($"malformed rebuild message (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
}
