using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;

namespace Tessera.Cluster.Context;

/// <summary>
/// Every node's published applied revision (/tessera/acks/), followed by one long-lived watch per node.
/// The commit barrier waits on this in-memory view instead of <see cref="AppliedAcks.WaitAppliedAsync"/>,
/// which reads the acks and opens a new watch per call: on etcd a watch that starts at a revision already
/// behind the head is an "unsynced" watcher that catches up on etcd's 100 ms sync tick, which put a
/// ~100 ms tail on a few percent of context changes. A lagging view only delays a confirmation, never
/// fakes one (acks only grow; a dead incarnation's ack disappears with its lease), and the barrier
/// re-reads the acks from the store before it fences anyone (<see cref="ConfirmMissingAsync"/>).
/// </summary>
internal sealed class AckTracker : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly IMetadataStore _store;
    private readonly Dictionary<string, long> _acks = new(StringComparer.Ordinal);
    private readonly List<Waiter> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public AckTracker(IMetadataStore store) => _store = store;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var range = await _store.GetRangeAsync(MetadataKeys.Acks, cancellationToken).ConfigureAwait(false);
        Load(range);
        _loop = Task.Run(() => RunAsync(range.Revision + 1, _stop.Token), CancellationToken.None);
    }

    /// <summary>
    /// Waits until each of <paramref name="nodes"/> has acknowledged <paramref name="revision"/> or the
    /// timeout passes; returns the nodes that had not (empty: all confirmed).
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitAsync(long revision, IEnumerable<string> nodes, TimeSpan timeout)
    {
        Waiter waiter;
        lock (_acks)
        {
            var pending = nodes.Where(n => _acks.GetValueOrDefault(n) < revision).ToHashSet(StringComparer.Ordinal);
            if (pending.Count == 0)
            {
                return [];
            }

            waiter = new Waiter(revision, pending);
            _waiters.Add(waiter);
        }

        using (var timer = new CancellationTokenSource(timeout))
        {
            await using var registration = timer.Token.Register(() => waiter.Done.TrySetResult()).ConfigureAwait(false);
            await waiter.Done.Task.ConfigureAwait(false);
        }

        lock (_acks)
        {
            _waiters.Remove(waiter);
            return waiter.Pending.Order(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Of <paramref name="missing"/>, those whose ack in the store (read now) is still below <paramref name="revision"/>.</summary>
    public async Task<IReadOnlyList<string>> ConfirmMissingAsync(long revision, IReadOnlyList<string> missing)
    {
        var range = await _store.GetRangeAsync(MetadataKeys.Acks).ConfigureAwait(false);
        var fresh = Decode(range.Entries);
        return missing.Where(n => fresh.GetValueOrDefault(n) < revision).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        lock (_acks)
        {
            foreach (var w in _waiters)
            {
                w.Done.TrySetResult();
            }
        }

        _stop.Dispose();
    }

    private Task RunAsync(long from, CancellationToken token) =>
        PrefixFollower.FollowAsync(_store, MetadataKeys.Acks, from, OnEvent, Load, RetryDelay, token);

    private bool OnEvent(WatchEvent e)
    {
        string node = e.Key[MetadataKeys.Acks.Length..];
        if (e.Type == WatchEventType.Put)
        {
            Update(node, MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.AppliedAck).AppliedRevision);
        }
        else
        {
            // The node's lease went: it is not a confirmation, only no ack any more.
            lock (_acks)
            {
                _acks.Remove(node);
            }
        }

        return true;
    }

    private void Load(RangeResult range)
    {
        foreach (var (node, applied) in Decode(range.Entries))
        {
            Update(node, applied);
        }
    }

    private void Update(string node, long applied)
    {
        lock (_acks)
        {
            if (applied <= _acks.GetValueOrDefault(node))
            {
                return;
            }

            _acks[node] = applied;
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                var w = _waiters[i];
                if (applied >= w.Revision && w.Pending.Remove(node) && w.Pending.Count == 0)
                {
                    w.Done.TrySetResult();
                }
            }
        }
    }

    private static Dictionary<string, long> Decode(IEnumerable<KeyValueEntry> entries)
    {
        var acks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var ack = MetadataJson.Deserialize(entry.Value, MetadataJsonContext.Default.AppliedAck);
            acks[ack.Node] = ack.AppliedRevision;
        }

        return acks;
    }

    private sealed class Waiter(long revision, HashSet<string> pending)
    {
        public long Revision { get; } = revision;

        public HashSet<string> Pending { get; } = pending;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
