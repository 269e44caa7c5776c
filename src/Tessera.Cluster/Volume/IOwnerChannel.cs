using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Portal → sub-unit owner. In process: a direct call (<see cref="LocalOwnerChannel"/>); later the
/// TCP inter-node protocol. Returns the miscompare offset for COMPARE AND WRITE (−1 when equal or
/// for other operations). Throws <see cref="NodeUnavailableException"/> when the owner is out and
/// <see cref="StaleOwnershipException"/> when the part was routed with an outdated ownership map.
/// </summary>
internal interface IOwnerChannel
{
    ValueTask<int> ExecuteAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken = default);
}
