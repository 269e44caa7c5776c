using Tessera.Cluster.Metadata.Membership;

namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>
/// Applies rule 3 of <see cref="EpochFencing"/> automatically: every node runs one, and whenever
/// a node leaves (lease lapsed, or revoked) it revokes that incarnation's sub-units so survivors
/// can take them over. On start it also sweeps records still held by incarnations that are no
/// longer live (nodes that died while nobody was watching, e.g. before a whole-cluster restart).
/// Several nodes doing the same is harmless: revocation is idempotent.
/// </summary>
internal sealed class DeadNodeFencer : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly EpochFencing _fencing;
    private readonly ClusterMembership _membership;
    private readonly string _selfId;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    public DeadNodeFencer(IMetadataStore store, NodeRegistrationInfo self)
    {
        _store = store;
        _selfId = self.NodeId;
        _fencing = new EpochFencing(store, self);
        _membership = new ClusterMembership(store);
    }

    /// <summary>Raised after a node's sub-units were revoked: (node id, incarnation fenced, sub-units revoked).</summary>
    public event Action<string, long, int>? Fenced;

    /// <summary>Completes with the loop's failure; a stopped fencer completes normally.</summary>
    public Task Completion => _loop;

    /// <summary>
    /// Starts following membership, then sweeps once. In that order, no death is missed: one after
    /// the watch's listing arrives as a Left event, one before it is found by the sweep.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        await (await Task.WhenAny(_listed.Task, _loop).ConfigureAwait(false)).ConfigureAwait(false);
        await SweepAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Revokes every Held record whose holder incarnation is not live now.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken = default)
    {
        var nodes = await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false);
        var live = nodes.Entries.ToDictionary(e => e.Key[MetadataKeys.Nodes.Length..], e => e.CreateRevision, StringComparer.Ordinal);
        var owners = await _store.GetRangeAsync(MetadataKeys.Owners, cancellationToken).ConfigureAwait(false);
        var stale = owners.Entries
            .Select(e => MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.OwnerRecord))
            .Where(o => o.State == OwnerState.Held && (!live.TryGetValue(o.Node, out long now) || o.Incarnation < now))
            .Select(o => o.Node)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var node in stale)
        {
            // Not live: fence everything up to now. Live under a newer incarnation: fence only
            // the incarnations before it.
            long incarnation = live.TryGetValue(node, out long current) ? current - 1 : 0;
            int revoked = await _fencing.RevokeNodeAsync(node, incarnation, cancellationToken).ConfigureAwait(false);
            Fenced?.Invoke(node, incarnation, revoked);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await BackgroundLoops.StopAsync(_stop, _loop).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            await foreach (var change in _membership.WatchAsync(() => _listed.TrySetResult(), token).ConfigureAwait(false))
            {
                if (change.Kind != MembershipChangeKind.Left || change.NodeId == _selfId)
                {
                    continue;
                }

                while (true)
                {
                    try
                    {
                        int revoked = await _fencing.RevokeNodeAsync(change.NodeId, change.Incarnation, token).ConfigureAwait(false);
                        Fenced?.Invoke(change.NodeId, change.Incarnation, revoked);
                        break;
                    }
                    catch (MetadataStoreException) when (!token.IsCancellationRequested)
                    {
                        // Store briefly unreachable: the fence must still happen, so retry.
                        await Task.Delay(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
