using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>In-process <see cref="IOwnerChannel"/>: finds the owner object of (node, volume) and calls it.</summary>
internal sealed class LocalOwnerChannel(Func<NodeId, Guid, SubUnitOwner> resolve, INodeLiveness liveness, NetworkJitter? jitter = null) : IOwnerChannel
{
    public ValueTask<int> ExecuteAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken = default)
    {
        if (!liveness.IsUp(owner))
        {
            return ValueTask.FromException<int>(new NodeUnavailableException(owner));
        }

        return jitter is null ? resolve(owner, request.Volume).ExecuteAsync(request, cancellationToken) : DelayedAsync(owner, request, cancellationToken);
    }

    private async ValueTask<int> DelayedAsync(NodeId owner, OwnerRequest request, CancellationToken cancellationToken)
    {
        await jitter!.DelayAsync().ConfigureAwait(false);
        if (!liveness.IsUp(owner))
        {
            throw new NodeUnavailableException(owner);
        }

        return await resolve(owner, request.Volume).ExecuteAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
