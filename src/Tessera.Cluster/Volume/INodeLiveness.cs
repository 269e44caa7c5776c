using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Which nodes are in the cluster right now (membership by lease in the metadata store later).
/// An owner plans each stripe operation from it: a column that is not available is neither read
/// nor written, and parity stands in for it.
/// </summary>
internal interface INodeLiveness
{
    bool IsUp(NodeId node);

    /// <summary>
    /// Whether <paramref name="node"/>'s column of <paramref name="stripe"/> holds current data and
    /// takes writes. Differs from <see cref="IsUp"/> while a node is being rebuilt: only the stripes
    /// already rebuilt are available.
    /// </summary>
    bool IsColumnAvailable(Guid volume, NodeId node, long stripe) => IsUp(node);

    /// <summary>Whether chunk I/O to <paramref name="node"/> is accepted (up, or being rebuilt).</summary>
    bool AcceptsChunkIo(NodeId node) => IsUp(node);

    /// <summary>
    /// Called before a write skips <paramref name="node"/>'s unavailable column: completes once it is
    /// durably known that the node's columns are stale (nothing to record in one process).
    /// </summary>
    ValueTask BeforeDegradedWriteAsync(NodeId node, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
