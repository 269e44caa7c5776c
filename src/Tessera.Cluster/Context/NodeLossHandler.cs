using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// The context changes membership drives, committed by a surviving node for every LU open on it
/// (docs/cluster-context.md "Membership-driven changes"): when a node leaves, its target port group becomes
/// unavailable (REPORT TARGET PORT GROUPS on every other node says so) and every I_T nexus through its ports
/// is lost (its SCSI-2 reservation released; persistent reservations stay, SPC-5 5.14); when a node joins or
/// comes back, its group is active/optimized. Every node runs one; the changes are idempotent, so the
/// nodes committing the same one write once. A node that was already gone when the handler started
/// (e.g. before a restart) is found by a sweep after the first membership listing.
/// </summary>
internal sealed class NodeLossHandler : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly ContextReplicator _node;
    private readonly Func<NodeRecord, NodePorts?> _portsOf;
    private readonly ClusterMembership _membership;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, NodePorts> _live = new(StringComparer.Ordinal);
    // The loop's changes and the start-up sweep one at a time: a sweep must not mark a group lost after
    // the loop has made it active for a node that joined meanwhile.
    private readonly SemaphoreSlim _serial = new(1, 1);
    private Task _loop = Task.CompletedTask;

    /// <param name="node">This node's replicator: the LUs it has open are the ones it keeps current.</param>
    /// <param name="portsOf">A member's ports (e.g. <see cref="NodePorts.OfNodeIndex"/> of its index); null: not an iSCSI node.</param>
    public NodeLossHandler(ContextReplicator node, Func<NodeRecord, NodePorts?> portsOf)
    {
        _node = node;
        _portsOf = portsOf;
        _membership = new ClusterMembership(node.Store);
    }

    /// <summary>Completes when the membership loop ends; faults if it failed.</summary>
    public Task Completion => _loop;

    /// <summary>
    /// Follows membership from now on; returns once the live nodes have been listed, their groups made
    /// active and the groups of nodes no longer live marked unavailable.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        await (await Task.WhenAny(_listed.Task, _loop).ConfigureAwait(false)).ConfigureAwait(false);
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SweepAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>
    /// For LUs opened after membership events went by (they changed nothing for them): every open LU is
    /// brought in line with the live nodes this handler follows — their groups active, groups without a
    /// live node unavailable. Serialised with the event loop, so it never undoes a newer event.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken = default)
    {
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var ports in _live.Values)
            {
                await NodeJoinedAsync(ports, cancellationToken).ConfigureAwait(false);
            }

            await SweepAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>
    /// Commits, for every LU open on this node, that the node behind <paramref name="departed"/> left:
    /// <see cref="LuStateChanges.TargetPortGroupLost"/>.
    /// </summary>
    public Task NodeLeftAsync(NodePorts departed, CancellationToken cancellationToken = default) =>
        ForEveryLuAsync(s => LuStateChanges.TargetPortGroupLost(s, departed.TargetPortGroupId, departed.RelativeTargetPortIds), cancellationToken);

    /// <summary>Commits, for every LU open on this node, that the node behind <paramref name="joined"/> serves: its group active/optimized.</summary>
    public Task NodeJoinedAsync(NodePorts joined, CancellationToken cancellationToken = default) =>
        ForEveryLuAsync(s => LuStateChanges.TargetPortGroupJoined(s, joined.TargetPortGroupId, joined.RelativeTargetPortIds), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await BackgroundLoops.StopAsync(_stop, _loop).ConfigureAwait(false);
        _serial.Dispose();
    }

    private async Task ForEveryLuAsync(Func<LuState, LuState> change, CancellationToken cancellationToken)
    {
        // All LUs at once: each change is a commit barrier, and they need not queue behind each other.
        await Task.WhenAll(_node.Contexts.Select(c => c.ChangeAsync(s => (change(s), true), cancellationToken).AsTask())).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            await foreach (var change in _membership.WatchAsync(() => _listed.TrySetResult(), token).ConfigureAwait(false))
            {
                if (_node.IsFenced)
                {
                    return; // out of the cluster: nothing this node commits counts
                }

                await _serial.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await HandleAsync(change, token).ConfigureAwait(false);
                }
                finally
                {
                    _serial.Release();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(MembershipChange change, CancellationToken token)
    {
        if (_portsOf(change.Node) is not { } ports)
        {
            return;
        }

        if (change.Kind == MembershipChangeKind.Joined)
        {
            _live[change.NodeId] = ports;
            await RetryAsync(t => NodeJoinedAsync(ports, t), token).ConfigureAwait(false);
            return;
        }

        _live.Remove(change.NodeId);
        // Back already under a new incarnation (its Joined follows in this stream): losing its nexuses now
        // would drop the sessions it has just accepted.
        var now = await RetryAsync(t => _node.Store.GetAsync(MetadataKeys.Node(change.NodeId), t), token).ConfigureAwait(false);
        if (now is null || now.CreateRevision <= change.Incarnation)
        {
            await RetryAsync(t => NodeLeftAsync(ports, t), token).ConfigureAwait(false);
        }
    }

    /// <summary>After the first listing: groups the LUs list that no live node stands behind any more are lost.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var liveGroups = _live.Values.Select(p => p.TargetPortGroupId).ToHashSet();
        foreach (var context in _node.Contexts)
        {
            foreach (var group in context.Current.Alua.Groups)
            {
                if (!liveGroups.Contains(group.Id) && group.State != AsymmetricAccessState.Unavailable)
                {
                    ushort id = group.Id;
                    var ports = group.RelativeTargetPortIds;
                    await context.ChangeAsync(s => (LuStateChanges.TargetPortGroupLost(s, id, ports), true), cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>A membership-driven change must happen: retried while the store or the context is unreachable.</summary>
    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> action, CancellationToken token)
    {
        while (true)
        {
            try
            {
                return await action(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MetadataStoreException or LuContextUnavailableException && !token.IsCancellationRequested && !_node.IsFenced)
            {
                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }
    }

    private Task RetryAsync(Func<CancellationToken, Task> action, CancellationToken token) =>
        RetryAsync(async t =>
        {
            await action(t).ConfigureAwait(false);
            return true;
        }, token);
}
