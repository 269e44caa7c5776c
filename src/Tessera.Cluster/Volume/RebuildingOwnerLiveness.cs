using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// The liveness one volume's <see cref="SubUnitOwner"/> plans its stripe operations with: the
/// node's liveness, plus the stale columns this node has rebuilt as owner in the current session
/// (<see cref="ColumnRebuilds"/>) — those are current and written from then on. Only the owner sees
/// them: portals (which use the node's liveness) read a stale node's stripes through owners until
/// the rebuild is done and the stale record is gone. A write that skips a stale column asks the
/// session whether it must put the stale record again.
/// </summary>
internal sealed class RebuildingOwnerLiveness(INodeLiveness inner, StaleColumnLiveness? stale, ColumnRebuilds rebuilds, Guid volume) : INodeLiveness
{
    public bool IsUp(NodeId node) => inner.IsUp(node);

    public bool AcceptsChunkIo(NodeId node) => inner.AcceptsChunkIo(node);

    public bool IsColumnAvailable(Guid volume, NodeId node, long stripe) =>
        inner.IsColumnAvailable(volume, node, stripe)
        || (rebuilds.Any && inner.AcceptsChunkIo(node) && rebuilds.IsRebuilt(volume, node, stripe));

    public ValueTask BeforeDegradedWriteAsync(NodeId node, CancellationToken cancellationToken) =>
        stale is not null && stale.IsStale(node)
            ? rebuilds.BeforeDegradedWriteAsync(volume, node, cancellationToken)
            : inner.BeforeDegradedWriteAsync(node, cancellationToken);
}
