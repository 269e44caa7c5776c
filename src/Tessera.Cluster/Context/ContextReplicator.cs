using System.Collections.Concurrent;
using System.Threading.Channels;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Scsi;

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
    private readonly AckTracker _ackTracker;
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
        _ackTracker = new AckTracker(store);
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

        await _ackTracker.StartAsync(cancellationToken).ConfigureAwait(false);
        var range = await Store.GetRangeAsync(MetadataKeys.Context, cancellationToken).ConfigureAwait(false);
        ApplyListing(range);
        _watchLoop = Task.Run(() => WatchLoopAsync(range.Revision + 1, _watchStop.Token), CancellationToken.None);
        _ackLoop = Task.Run(() => AckLoopAsync(_stop.Token), CancellationToken.None);
        _ = Self.Lost.ContinueWith(_ => OnLost(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Opens the context of one LU on this node (create-if-absent with <paramref name="initial"/>).</summary>
    public Task<ClusterLuContext> OpenAsync(string volumeId, LuState? initial = null, CancellationToken cancellationToken = default) =>
        ClusterLuContext.OpenAsync(this, volumeId, initial, cancellationToken);

    /// <summary>The LU contexts open on this node.</summary>
    internal IEnumerable<ClusterLuContext> Contexts => _contexts.Values;

    /// <summary>
    /// Whole-cluster cold start: commits a power on (<see cref="LuStateChanges.PowerOn"/>: no I_T
    /// nexus, no unit attention or SCSI-2 reservation left, current mode pages = saved, PRgeneration 0,
    /// persistent reservations only with APTPL) for every LU open on this node. The committed context
    /// otherwise survives a restart of every node as if power never failed (docs/cluster-context.md
    /// "Whole-cluster restart"). Call it once, before any portal accepts logins, on the node that finds
    /// itself starting a cluster no other node is serving.
    /// </summary>
    public Task PowerOnAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(Contexts.Select(c => c.ChangeAsync(s => (LuStateChanges.PowerOn(s), true), cancellationToken).AsTask()));

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
        catch (MetadataStoreException)
        {
            // A store call cut short by the shutdown itself (etcd reports the aborted request as
            // Unavailable rather than as a cancellation): nothing is left to publish.
        }

        await _ackTracker.DisposeAsync().ConfigureAwait(false);

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
    /// <paramref name="liveNodes"/> (the node keys as read in the commit transaction) has acknowledged it
    /// — and, when the revision carries an abort order for <paramref name="abortVolume"/>, has reported the
    /// matching tasks ended — or, for those that did not within <see cref="ClusterContextOptions.AckTimeout"/>,
    /// once they have been fenced (epochs revoked, key and lease revoked) and the fence grace has passed.
    /// Returns the I_T nexus keys other nodes reported as having lost tasks.
    /// </summary>
    internal async Task<IReadOnlyCollection<string>> BarrierAsync(long revision, IReadOnlyList<KeyValueEntry> liveNodes, string? abortVolume = null)
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
            return [];
        }

        var acked = _ackTracker.WaitAsync(revision, others.Keys, Options.AckTimeout);
        var reported = abortVolume is null
            ? Task.FromResult<(IReadOnlyList<string> Missing, IReadOnlyCollection<string> Aborted)>(([], []))
            : WaitAbortReportsAsync(abortVolume, revision, others.Keys, Options.AckTimeout);
        await Task.WhenAll(acked, reported).ConfigureAwait(false);
        var unacked = await acked.ConfigureAwait(false);
        if (unacked.Count > 0)
        {
            // Never fence on this node's view alone (its ack watch could be the one that is stuck).
            unacked = await _ackTracker.ConfirmMissingAsync(revision, unacked).ConfigureAwait(false);
        }

        var missing = unacked.Union((await reported.ConfigureAwait(false)).Missing, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            await Task.WhenAll(missing.Select(id => FenceAsync(id, others[id]))).ConfigureAwait(false);
            // The fenced node may not be able to hear that it is out (partitioned from the store); its own
            // keep-alive gives up one lease TTL after its last renewal, and it stops serving then. Completing
            // the command before that would leave a window in which it serves the old context.
            await Task.Delay(Options.FenceGrace).ConfigureAwait(false);
        }

        return (await reported.ConfigureAwait(false)).Aborted;
    }

    /// <summary>Publishes this node's answer to the abort order of <paramref name="revision"/> (bound to the node's lease).</summary>
    internal async Task ReportAbortAsync(string volumeId, long revision, IReadOnlyCollection<string> abortedNexusKeys)
    {
        var report = new TaskAbortReport(Self.NodeId, revision) { AbortedNexusKeys = [.. abortedNexusKeys] };
        byte[] json = LuStateJson.SerializeRecord(report);
        CancellationToken token;
        try
        {
            token = _stop.Token;
        }
        catch (ObjectDisposedException)
        {
            return; // the node is shutting down
        }

        while (!token.IsCancellationRequested && !IsFenced)
        {
            try
            {
                await Store.PutAsync(ContextKeys.AbortReport(volumeId, Self.NodeId), json, Self.LeaseId, token).ConfigureAwait(false);
                return;
            }
            catch (MetadataLeaseLostException)
            {
                return;
            }
            catch (MetadataStoreException)
            {
                try
                {
                    await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Waits until each of <paramref name="nodes"/> has reported the abort order of <paramref name="revision"/>
    /// (a report of a later order also proves it: orders are applied in revision order), or the timeout.
    /// </summary>
    private async Task<(IReadOnlyList<string> Missing, IReadOnlyCollection<string> Aborted)> WaitAbortReportsAsync(
        string volumeId, long revision, IEnumerable<string> nodes, TimeSpan timeout)
    {
        var pending = new HashSet<string>(nodes, StringComparer.Ordinal);
        var aborted = new HashSet<string>(StringComparer.Ordinal);
        string prefix = ContextKeys.AbortReports(volumeId);

        void Take(ReadOnlyMemory<byte> value)
        {
            var report = LuStateJson.DeserializeRecord<TaskAbortReport>(value.Span);
            if (report.Revision >= revision && pending.Remove(report.Node) && report.Revision == revision)
            {
                aborted.UnionWith(report.AbortedNexusKeys);
            }
        }

        var range = await Store.GetRangeAsync(prefix).ConfigureAwait(false);
        foreach (var entry in range.Entries)
        {
            Take(entry.Value);
        }

        if (pending.Count > 0)
        {
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                // From just after the read: no report between the read and the watch is missed.
                await foreach (var e in Store.WatchAsync(prefix, range.Revision + 1, deadline.Token).ConfigureAwait(false))
                {
                    if (e.Type == WatchEventType.Put)
                    {
                        Take(e.Value);
                        if (pending.Count == 0)
                        {
                            break;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Timed out: report who is missing.
            }
        }

        return (pending.Order(StringComparer.Ordinal).ToList(), aborted);
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

    private void ApplyAbortOrder(string volumeId, ReadOnlyMemory<byte> json, long revision)
    {
        if (IsFenced)
        {
            return;
        }

        if (_contexts.TryGetValue(volumeId, out var context))
        {
            context.ApplyAbortOrder(json, revision);
        }
        else
        {
            // The LU is not served here: nothing to abort, but the committer waits for every live node.
            _ = Task.Run(() => ReportAbortAsync(volumeId, revision, []));
        }
    }

    private void ApplyListing(RangeResult range)
    {
        foreach (var entry in range.Entries)
        {
            // Abort orders in a listing are history: their committers have finished waiting (or fenced).
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

    /// <summary>Applies committed revisions in order; falls back to a full listing after compaction.</summary>
    private Task WatchLoopAsync(long from, CancellationToken token) =>
        PrefixFollower.FollowAsync(Store, MetadataKeys.Context, from, OnContextEvent, ApplyListing, RetryDelay, token);

    private bool OnContextEvent(WatchEvent e)
    {
        if (ContextKeys.VolumeOfAbortOrder(e.Key) is { } abortVolume)
        {
            // Same revision as the state put that follows it: neither `from` nor the applied
            // revision moves here (a re-established watch delivers the order again; aborting
            // twice is harmless).
            if (e.Type == WatchEventType.Put)
            {
                ApplyAbortOrder(abortVolume, e.Value, e.Revision);
            }

            return false;
        }

        if (e.Type == WatchEventType.Put && ContextKeys.VolumeOf(e.Key) is { } volume && _contexts.TryGetValue(volume, out var context))
        {
            context.ApplyCommitted(e.Value, e.Revision);
        }

        // A revision writes one state key, last (an abort order comes before it): after it the revision is whole.
        Advance(e.Revision);
        return true;
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
