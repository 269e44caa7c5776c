using System.Collections.Concurrent;
using System.Threading.Channels;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;

namespace Tessera.Cluster.Context;

/// <summary>
/// A node's side of the replicated SCSI context (ARCHITECTURE decision 2, docs/cluster-context.md):
/// one watch on /tessera/context/ that applies committed revisions, in revision order, to the node's
/// <see cref="ClusterLuContext"/>s, and publishes the highest applied revision as the node's ack
/// (<see cref="AppliedAcks"/>). One per node, not per LU: an ack says "every context revision up to R
/// is applied here", which only a single ordered stream over all LUs can truthfully say.
/// It also runs the commit barrier for the node's contexts (wait for the other live nodes' acks, fence
/// whoever does not confirm) and takes the node's contexts out of service once the node is fenced.
/// </summary>
internal sealed class ContextReplicator : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, ClusterLuContext> _contexts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _watchStop;
    private readonly Channel<bool> _ackSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly AppliedAcks _acks;
    private readonly EpochFencing _fencing;
    private Task _watchLoop = Task.CompletedTask;
    private Task _ackLoop = Task.CompletedTask;
    private long _applied;
    private long _published;
    private int _fenced;
    private int _started;
    private int _disposed;

    public ContextReplicator(IMetadataStore store, NodeRegistration self, ClusterContextOptions? options = null)
    {
        Store = store;
        Self = self;
        Options = options ?? new ClusterContextOptions();
        _acks = new AppliedAcks(store);
        _fencing = new EpochFencing(store, self);
        _watchStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
    }

    /// <summary>Raised (on the committing thread) for every node this node fenced because it did not acknowledge a commit in time.</summary>
    public event Action<string>? Fenced;

    public IMetadataStore Store { get; }

    public NodeRegistration Self { get; }

    public ClusterContextOptions Options { get; }

    /// <summary>Highest context revision the watch has applied (and will acknowledge).</summary>
    public long AppliedRevision => Volatile.Read(ref _applied);

    /// <summary>Highest revision acknowledged in the store.</summary>
    public long PublishedRevision => Volatile.Read(ref _published);

    /// <summary>True once this node is out of the cluster: its contexts refuse changes and stop following the store.</summary>
    public bool IsFenced => Volatile.Read(ref _fenced) != 0;

    /// <summary>Completes when the watch loop ends; faults if it failed.</summary>
    public Task Completion => _watchLoop;

    /// <summary>
    /// Reads the context prefix at a revision Q, then watches from Q + 1 and acknowledges Q. LU contexts
    /// opened later read their own latest value, which is never older than what the watch has passed.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("already started");
        }

        var range = await Store.GetRangeAsync(MetadataKeys.Context, cancellationToken).ConfigureAwait(false);
        ApplyListing(range);
        _watchLoop = Task.Run(() => WatchLoopAsync(range.Revision + 1, _watchStop.Token), CancellationToken.None);
        _ackLoop = Task.Run(() => AckLoopAsync(_stop.Token), CancellationToken.None);
        _ = Self.Lost.ContinueWith(_ => OnLost(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Opens the context of one LU on this node (create-if-absent with <paramref name="initial"/>).</summary>
    public Task<ClusterLuContext> OpenAsync(string volumeId, Tessera.Scsi.LuState? initial = null, CancellationToken cancellationToken = default) =>
        ClusterLuContext.OpenAsync(this, volumeId, initial, cancellationToken);

    /// <summary>
    /// Test hook: the watch stops applying (and so acknowledging) while the node stays a member — what a
    /// stuck or partitioned node looks like to the others.
    /// </summary>
    internal async Task StopWatchingAsync()
    {
        await _watchStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watchLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _ackSignal.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_watchLoop, _ackLoop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _watchStop.Dispose();
        _stop.Dispose();
    }

    internal void Register(ClusterLuContext context)
    {
        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("start the replicator before opening contexts");
        }

        if (IsFenced)
        {
            throw new LuContextUnavailableException($"node {Self.NodeId} has been fenced; it must register again");
        }

        if (!_contexts.TryAdd(context.VolumeId, context))
        {
            throw new InvalidOperationException($"the context of volume {context.VolumeId} is already open on node {Self.NodeId}");
        }

        // Lost may have fired between the check above and the add: its sweep could have missed this one.
        if (IsFenced)
        {
            context.Fence();
        }
    }

    internal void Unregister(ClusterLuContext context) => _contexts.TryRemove(new KeyValuePair<string, ClusterLuContext>(context.VolumeId, context));

    /// <summary>
    /// The commit barrier of revision <paramref name="revision"/>: returns once every other node of
    /// <paramref name="liveNodes"/> (the node keys as read in the commit transaction) has acknowledged it,
    /// or — for those that did not within <see cref="ClusterContextOptions.AckTimeout"/> — once they have
    /// been fenced (epochs revoked, key and lease revoked) and the fence grace has passed.
    /// </summary>
    internal async Task BarrierAsync(long revision, IReadOnlyList<KeyValueEntry> liveNodes)
    {
        var others = new Dictionary<string, KeyValueEntry>(StringComparer.Ordinal);
        foreach (var entry in liveNodes)
        {
            string id = entry.Key[MetadataKeys.Nodes.Length..];
            if (id != Self.NodeId)
            {
                others[id] = entry;
            }
        }

        if (others.Count == 0)
        {
            return;
        }

        var missing = await _acks.WaitAppliedAsync(revision, others.Keys, Options.AckTimeout, CancellationToken.None).ConfigureAwait(false);
        if (missing.Count == 0)
        {
            return;
        }

        await Task.WhenAll(missing.Select(id => FenceAsync(id, others[id]))).ConfigureAwait(false);
        // The fenced node may not be able to hear that it is out (partitioned from the store); its own
        // keep-alive gives up one lease TTL after its last renewal, and it stops serving then. Completing
        // the command before that would leave a window in which it serves the old context.
        await Task.Delay(Options.FenceGrace).ConfigureAwait(false);
    }

    private async Task FenceAsync(string nodeId, KeyValueEntry nodeKey)
    {
        // Only the incarnation that was live at the commit: a later one read the committed context at start.
        await _fencing.RevokeNodeAsync(nodeId, nodeKey.CreateRevision).ConfigureAwait(false);
        if (nodeKey.Lease != 0)
        {
            // Removing the key is enough for a node that still watches itself; revoking the lease also
            // stops its keep-alive, the path that works even when its watches are stuck.
            await Store.RevokeLeaseAsync(nodeKey.Lease).ConfigureAwait(false);
        }

        Fenced?.Invoke(nodeId);
    }

    private void ApplyListing(RangeResult range)
    {
        foreach (var entry in range.Entries)
        {
            if (ContextKeys.VolumeOf(entry.Key) is { } volume && _contexts.TryGetValue(volume, out var context))
            {
                context.ApplyCommitted(entry.Value, entry.ModRevision);
            }
        }

        Advance(range.Revision);
    }

    private void Advance(long revision)
    {
        if (revision > Volatile.Read(ref _applied))
        {
            Volatile.Write(ref _applied, revision);
            _ackSignal.Writer.TryWrite(true);
        }
    }

    private async Task WatchLoopAsync(long from, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in Store.WatchAsync(MetadataKeys.Context, from, token).ConfigureAwait(false))
                {
                    if (e.Type == WatchEventType.Put && ContextKeys.VolumeOf(e.Key) is { } volume && _contexts.TryGetValue(volume, out var context))
                    {
                        context.ApplyCommitted(e.Value, e.Revision);
                    }

                    // A context key is only ever written alone, so one event is one whole revision.
                    from = e.Revision + 1;
                    Advance(e.Revision);
                }

                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (MetadataCompactedException)
            {
                // Fell behind the retained history: re-read everything at a revision and go on from there.
                try
                {
                    var range = await Store.GetRangeAsync(MetadataKeys.Context, token).ConfigureAwait(false);
                    ApplyListing(range);
                    from = range.Revision + 1;
                }
                catch (MetadataStoreException) when (!token.IsCancellationRequested)
                {
                    await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                }
            }
            catch (MetadataStoreException) when (!token.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }
    }

    private async Task AckLoopAsync(CancellationToken token)
    {
        try
        {
            // The signal holds at most one item: acks coalesce when applying outpaces publishing.
            await foreach (var _ in _ackSignal.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                while (true)
                {
                    long applied = AppliedRevision;
                    if (applied <= PublishedRevision)
                    {
                        break;
                    }

                    try
                    {
                        await _acks.PublishAsync(Self, applied, token).ConfigureAwait(false);
                        Volatile.Write(ref _published, applied);
                    }
                    catch (MetadataLeaseLostException)
                    {
                        return; // out of the cluster; Lost takes the contexts down
                    }
                    catch (MetadataStoreException) when (!token.IsCancellationRequested)
                    {
                        await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void OnLost()
    {
        if (Interlocked.Exchange(ref _fenced, 1) != 0)
        {
            return;
        }

        foreach (var context in _contexts.Values)
        {
            context.Fence();
        }

        // Stop following the store: nothing this node applies or acknowledges counts any more.
        try
        {
            _watchStop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
