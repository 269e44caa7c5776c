using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>
/// In-process <see cref="IMetadataStore"/> for a single-process cluster (<c>tessera up</c>):
/// every node of the process shares one instance. Linearizable by construction — one lock
/// orders every operation, and a commit is made durable (<see cref="MetadataLog"/>, fsync)
/// before it becomes visible to readers or watchers. Revisions, versions, compares, lease
/// semantics and watch events follow etcd v3 so code tested here behaves the same on etcd.
/// Lease deadlines use the injected <see cref="TimeProvider"/>; they are not persisted — after
/// a restart every surviving lease gets a full TTL again (etcd does the same on leader change).
/// </summary>
internal sealed class EmbeddedMetadataStore : IMetadataStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, KeyValueEntry> _kv = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<long, LeaseState> _leases = new();
    private readonly Queue<WatchEvent> _history = new();
    private readonly List<Watcher> _watchers = new();
    private readonly TimeProvider _time;
    private readonly EmbeddedStoreOptions _options;
    private readonly MetadataLog? _log;
    private readonly ITimer _expiryTimer;
    private long _revision = 1; // etcd: an empty store is at revision 1, the first write makes 2
    private long _compactedThrough;
    private long _nextLeaseId = 1;
    private Exception? _failed;
    private bool _disposed;

    private EmbeddedMetadataStore(string? dataDirectory, TimeProvider time, EmbeddedStoreOptions options, bool readOnly = false)
    {
        _time = time;
        _options = options;
        IsReadOnly = readOnly;
        if (readOnly)
        {
            var (snapshot, tail) = MetadataLog.ReadUnlocked(dataDirectory!);
            if (snapshot is not null)
            {
                LoadSnapshot(snapshot);
            }

            _compactedThrough = _revision;
            foreach (var record in tail)
            {
                Replay(record);
            }
        }
        else if (dataDirectory is not null)
        {
            _log = MetadataLog.Open(dataDirectory, out var snapshot, out var tail);
            try
            {
                if (snapshot is not null)
                {
                    LoadSnapshot(snapshot);
                }

                _compactedThrough = _revision;
                foreach (var record in tail)
                {
                    Replay(record);
                }
            }
            catch
            {
                _log.Dispose();
                throw;
            }
        }
        else
        {
            _compactedThrough = _revision;
        }

        _expiryTimer = _time.CreateTimer(static s => ((EmbeddedMetadataStore)s!).OnExpiryTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            RescheduleExpiryLocked();
        }
    }

    /// <summary>Current store revision (for tests and diagnostics).</summary>
    public long Revision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>True for a <see cref="OpenReadOnly"/> image: reads only, no lease expiry, no files touched.</summary>
    public bool IsReadOnly { get; }

    /// <summary>
    /// The state of the store under <paramref name="dataDirectory"/> as of now, read without a lock
    /// and without writing anything, so it works while another process (a running
    /// <c>tessera up</c>) holds the store (<see cref="MetadataLog.ReadUnlocked"/>). It is an image:
    /// reads answer from it, writes and lease calls throw <see cref="MetadataStoreException"/>,
    /// leases never lapse, and watches deliver only the history replayed from the log. Throws
    /// <see cref="MetadataStoreException"/> when there is no store there.
    /// </summary>
    public static EmbeddedMetadataStore OpenReadOnly(string dataDirectory)
    {
        if (!File.Exists(Path.Combine(dataDirectory, MetadataLog.LogFileName)) && !File.Exists(Path.Combine(dataDirectory, MetadataLog.SnapshotFileName)))
        {
            throw new MetadataStoreException($"no metadata store in {dataDirectory}");
        }

        return new EmbeddedMetadataStore(dataDirectory, TimeProvider.System, new EmbeddedStoreOptions(), readOnly: true);
    }

    /// <summary>
    /// Opens (or creates) a store. <paramref name="dataDirectory"/> null keeps everything in memory
    /// (tests); otherwise the state is recovered from and persisted under it.
    /// </summary>
    public static EmbeddedMetadataStore Open(string? dataDirectory, TimeProvider? time = null, EmbeddedStoreOptions? options = null) =>
        new(dataDirectory, time ?? TimeProvider.System, options ?? new EmbeddedStoreOptions());

    public Task<KeyValueEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            EnterLocked();
            return Task.FromResult(_kv.GetValueOrDefault(key));
        }
    }

    public Task<RangeResult> GetRangeAsync(string prefix, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            EnterLocked();
            return Task.FromResult(new RangeResult(RangeLocked(prefix), _revision));
        }
    }

    public async Task<long> PutAsync(string key, ReadOnlyMemory<byte> value, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        var result = await TxnAsync([], [TxnOp.Put(key, value, leaseId)], [], cancellationToken).ConfigureAwait(false);
        return result.Revision;
    }

    public async Task<DeleteResult> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var result = await TxnAsync([], [TxnOp.Delete(key)], [], cancellationToken).ConfigureAwait(false);
        return new DeleteResult(result.Responses[0].Count > 0, result.Revision);
    }

    public Task<TxnResult> TxnAsync(IReadOnlyList<Compare> compares, IReadOnlyList<TxnOp> onSuccess, IReadOnlyList<TxnOp> onFailure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(compares);
        ArgumentNullException.ThrowIfNull(onSuccess);
        ArgumentNullException.ThrowIfNull(onFailure);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            EnterLocked();
            bool succeeded = true;
            foreach (var c in compares)
            {
                if (!c.Holds(_kv.GetValueOrDefault(c.Key)))
                {
                    succeeded = false;
                    break;
                }
            }

            var ops = succeeded ? onSuccess : onFailure;
            ValidateLocked(ops);
            if (IsReadOnly && ops.Any(o => o.IsWrite))
            {
                throw ReadOnlyRefusal();
            }

            long revision = _revision + 1;
            var responses = new List<IReadOnlyList<KeyValueEntry>>(ops.Count);
            var writes = new List<LoggedWrite>();
            var events = new List<WatchEvent>();
            // Ops run in order (etcd semantics: a Get after a Put in the same branch sees the put).
            // Memory changes before the log append; a failed append poisons the store (see Commit).
            foreach (var op in ops)
            {
                switch (op.Kind)
                {
                    case TxnOpKind.Get:
                        responses.Add(_kv.TryGetValue(op.Key, out var e) ? [e] : []);
                        break;
                    case TxnOpKind.GetPrefix:
                        responses.Add(RangeLocked(op.Key));
                        break;
                    case TxnOpKind.Put:
                        var w = new LoggedWrite(true, op.Key, op.Value.ToArray(), op.Lease);
                        events.Add(ApplyWriteLocked(w, revision));
                        writes.Add(w);
                        responses.Add([]);
                        break;
                    case TxnOpKind.Delete:
                    case TxnOpKind.DeletePrefix:
                        var victims = op.Kind == TxnOpKind.Delete
                            ? (_kv.TryGetValue(op.Key, out var v) ? [v] : [])
                            : RangeLocked(op.Key);
                        foreach (var victim in victims)
                        {
                            var d = new LoggedWrite(false, victim.Key, default, 0);
                            events.Add(ApplyWriteLocked(d, revision));
                            writes.Add(d);
                        }

                        responses.Add(victims);
                        break;
                }
            }

            if (writes.Count > 0)
            {
                CommitLocked(new LogRecord(LogRecordKind.Writes, revision, writes), events);
            }

            return Task.FromResult(new TxnResult(succeeded, _revision, responses));
        }
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Watcher watcher;
        lock (_gate)
        {
            EnterLocked();
            long start = fromRevision <= 0 ? _revision + 1 : fromRevision;
            watcher = new Watcher(prefix, start);
            if (start <= _compactedThrough)
            {
                throw new MetadataCompactedException(start, _compactedThrough);
            }

            // Backlog and registration under the same lock: no event is missed or seen twice.
            foreach (var e in _history)
            {
                if (e.Revision >= start && e.Key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    watcher.Events.Writer.TryWrite(e);
                }
            }

            _watchers.Add(watcher);
        }

        try
        {
            await foreach (var e in watcher.Events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    public Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "lease TTL must be positive");
        }

        lock (_gate)
        {
            EnterLocked();
            if (IsReadOnly)
            {
                throw ReadOnlyRefusal();
            }

            long id = _nextLeaseId;
            _nextLeaseId = id + 1;
            var record = new LogRecord(LogRecordKind.LeaseGrant, _revision, [], id, ttl.Ticks);
            _leases[id] = new LeaseState(id, ttl) { Deadline = _time.GetUtcNow() + ttl };
            CommitLocked(record, []);
            RescheduleExpiryLocked();
            return Task.FromResult(id);
        }
    }

    public Task<TimeSpan?> RefreshLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            EnterLocked();
            if (IsReadOnly)
            {
                throw ReadOnlyRefusal();
            }

            if (!_leases.TryGetValue(leaseId, out var lease))
            {
                return Task.FromResult<TimeSpan?>(null);
            }

            lease.Deadline = _time.GetUtcNow() + lease.Ttl;
            RescheduleExpiryLocked();
            return Task.FromResult<TimeSpan?>(lease.Ttl);
        }
    }

    public async Task KeepAliveAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        try
        {
            while (true)
            {
                var ttl = await RefreshLeaseAsync(leaseId, cancellationToken).ConfigureAwait(false) ?? throw new MetadataLeaseLostException(leaseId);
                await Task.Delay(ttl / 3, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public Task RevokeLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            EnterLocked();
            if (IsReadOnly)
            {
                throw ReadOnlyRefusal();
            }

            RevokeLocked(leaseId);
            RescheduleExpiryLocked();
            return Task.CompletedTask;
        }
    }

    /// <summary>Writes a snapshot now and empties the log (also done automatically past <see cref="EmbeddedStoreOptions.SnapshotThresholdBytes"/>).</summary>
    public void Snapshot()
    {
        lock (_gate)
        {
            EnterLocked();
            if (IsReadOnly)
            {
                throw ReadOnlyRefusal();
            }

            SnapshotLocked();
        }
    }

    public ValueTask DisposeAsync()
    {
        _expiryTimer.Dispose();
        lock (_gate)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            foreach (var w in _watchers)
            {
                w.Events.Writer.TryComplete(new ObjectDisposedException(nameof(EmbeddedMetadataStore)));
            }

            _watchers.Clear();
            _log?.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private void EnterLocked()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failed is not null)
        {
            throw new MetadataStoreException("metadata store failed a durable write earlier and is read-only garbage now; restart to recover", _failed);
        }

        if (!IsReadOnly)
        {
            // An image must not decide leases: only the process holding the store does.
            ExpireDueLeasesLocked();
        }
    }

    private static MetadataStoreException ReadOnlyRefusal() => new("this is a read-only image of an embedded metadata store");

    private void ValidateLocked(IReadOnlyList<TxnOp> ops)
    {
        var puts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var op in ops)
        {
            if (op.Kind == TxnOpKind.Put)
            {
                if (op.Lease != 0 && !_leases.ContainsKey(op.Lease))
                {
                    throw new MetadataLeaseLostException(op.Lease);
                }

                if (!puts.Add(op.Key))
                {
                    throw DuplicateKey(op.Key);
                }
            }
        }

        // etcd rejects a branch whose delete ranges cover a key it also puts ("duplicate key given in txn request").
        foreach (var op in ops)
        {
            if ((op.Kind == TxnOpKind.Delete && puts.Contains(op.Key)) ||
                (op.Kind == TxnOpKind.DeletePrefix && puts.Any(k => k.StartsWith(op.Key, StringComparison.Ordinal))))
            {
                throw DuplicateKey(op.Key);
            }
        }

        static ArgumentException DuplicateKey(string key) => new($"key '{key}' is both written and deleted, or written twice, in one transaction branch");
    }

    private List<KeyValueEntry> RangeLocked(string prefix)
    {
        var result = new List<KeyValueEntry>();
        var view = prefix.Length == 0 ? _keys : _keys.GetViewBetween(prefix, prefix + char.MaxValue);
        foreach (var key in view)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                result.Add(_kv[key]);
            }
        }

        return result;
    }

    private WatchEvent ApplyWriteLocked(LoggedWrite write, long revision)
    {
        _kv.TryGetValue(write.Key, out var old);
        if (old is not null && old.Lease != 0 && _leases.TryGetValue(old.Lease, out var oldLease))
        {
            oldLease.Keys.Remove(write.Key);
        }

        if (!write.IsPut)
        {
            _kv.Remove(write.Key);
            _keys.Remove(write.Key);
            return new WatchEvent(WatchEventType.Delete, write.Key, default, revision, 0, 0, 0);
        }

        var entry = new KeyValueEntry(write.Key, write.Value, old?.CreateRevision ?? revision, revision, (old?.Version ?? 0) + 1, write.Lease);
        _kv[write.Key] = entry;
        _keys.Add(write.Key);
        if (write.Lease != 0 && _leases.TryGetValue(write.Lease, out var lease))
        {
            lease.Keys.Add(write.Key);
        }

        return new WatchEvent(WatchEventType.Put, entry.Key, entry.Value, revision, entry.CreateRevision, entry.Version, entry.Lease);
    }

    private void RevokeLocked(long leaseId)
    {
        if (!_leases.Remove(leaseId, out var lease))
        {
            return;
        }

        long revision = _revision + 1;
        var writes = new List<LoggedWrite>();
        var events = new List<WatchEvent>();
        foreach (var key in lease.Keys.Order(StringComparer.Ordinal))
        {
            var d = new LoggedWrite(false, key, default, 0);
            events.Add(ApplyWriteLocked(d, revision));
            writes.Add(d);
        }

        CommitLocked(new LogRecord(LogRecordKind.LeaseRevoke, writes.Count > 0 ? revision : _revision, writes, leaseId), events);
    }

    /// <summary>Makes an already-applied change durable, then visible: revision, history, watchers.</summary>
    private void CommitLocked(LogRecord record, List<WatchEvent> events)
    {
        try
        {
            _log?.Append(record);
        }
        catch (Exception e)
        {
            // Memory already holds the change but the disk may not: refuse everything from now on
            // rather than serve state that a restart would lose (no silent divergence).
            _failed = e;
            throw new MetadataStoreException("metadata log append failed", e);
        }

        if (events.Count == 0)
        {
            return;
        }

        _revision = record.Revision;
        PublishLocked(events);
        if (_log is not null && _log.Length > _options.SnapshotThresholdBytes)
        {
            try
            {
                SnapshotLocked();
            }
            catch (IOException)
            {
                // The commit is already durable in the log; the snapshot is retried on the next commit.
            }
        }
    }

    private void PublishLocked(List<WatchEvent> events)
    {
        foreach (var e in events)
        {
            _history.Enqueue(e);
            foreach (var w in _watchers)
            {
                // A watch may start at a future revision; nothing before it is delivered.
                if (e.Revision >= w.Start && e.Key.StartsWith(w.Prefix, StringComparison.Ordinal))
                {
                    w.Events.Writer.TryWrite(e);
                }
            }
        }

        // Retain whole revisions only, so a watch start is either fully served or compacted.
        while (_history.Count > _options.HistoryLimit)
        {
            _compactedThrough = _history.Dequeue().Revision;
            while (_history.TryPeek(out var next) && next.Revision == _compactedThrough)
            {
                _history.Dequeue();
            }
        }
    }

    private void SnapshotLocked()
    {
        if (_log is null)
        {
            return;
        }

        var leases = _leases.Values.Select(l => (l.Id, l.Ttl.Ticks)).ToList();
        var entries = _keys.Select(k => _kv[k]).ToList();
        _log.WriteSnapshot(new SnapshotState(_log.Sequence, _revision, _nextLeaseId, leases, entries));
    }

    private void LoadSnapshot(SnapshotState snapshot)
    {
        _revision = snapshot.Revision;
        _nextLeaseId = snapshot.NextLeaseId;
        var now = _time.GetUtcNow();
        foreach (var (id, ticks) in snapshot.Leases)
        {
            var ttl = TimeSpan.FromTicks(ticks);
            _leases[id] = new LeaseState(id, ttl) { Deadline = now + ttl };
        }

        foreach (var e in snapshot.Entries)
        {
            _kv[e.Key] = e;
            _keys.Add(e.Key);
            if (e.Lease != 0 && _leases.TryGetValue(e.Lease, out var lease))
            {
                lease.Keys.Add(e.Key);
            }
        }
    }

    private void Replay(LogRecord record)
    {
        switch (record.Kind)
        {
            case LogRecordKind.LeaseGrant:
                var ttl = TimeSpan.FromTicks(record.LeaseTtlTicks);
                _leases[record.LeaseId] = new LeaseState(record.LeaseId, ttl) { Deadline = _time.GetUtcNow() + ttl };
                _nextLeaseId = Math.Max(_nextLeaseId, record.LeaseId + 1);
                return;
            case LogRecordKind.LeaseRevoke:
                _leases.Remove(record.LeaseId);
                break;
        }

        if (record.Writes.Count == 0)
        {
            return;
        }

        var events = new List<WatchEvent>(record.Writes.Count);
        foreach (var w in record.Writes)
        {
            events.Add(ApplyWriteLocked(w, record.Revision));
        }

        _revision = record.Revision;
        PublishLocked(events);
    }

    private void ExpireDueLeasesLocked()
    {
        if (_leases.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        List<long>? due = null;
        foreach (var lease in _leases.Values)
        {
            if (lease.Deadline <= now)
            {
                (due ??= new()).Add(lease.Id);
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (var id in due)
        {
            RevokeLocked(id);
        }

        RescheduleExpiryLocked();
    }

    private void RescheduleExpiryLocked()
    {
        if (_disposed || IsReadOnly)
        {
            return;
        }

        if (_leases.Count == 0)
        {
            _expiryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        var next = _leases.Values.Min(l => l.Deadline);
        var delay = next - _time.GetUtcNow();
        _expiryTimer.Change(delay < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : delay, Timeout.InfiniteTimeSpan);
    }

    private void OnExpiryTimer()
    {
        lock (_gate)
        {
            if (_disposed || _failed is not null)
            {
                return;
            }

            try
            {
                ExpireDueLeasesLocked();
                RescheduleExpiryLocked();
            }
            catch (MetadataStoreException)
            {
                // _failed is set; callers see it on their next operation.
            }
        }
    }

    private sealed class LeaseState(long id, TimeSpan ttl)
    {
        public long Id { get; } = id;

        public TimeSpan Ttl { get; } = ttl;

        public DateTimeOffset Deadline { get; set; }

        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Watcher(string prefix, long start)
    {
        public string Prefix { get; } = prefix;

        public long Start { get; } = start;

        public Channel<WatchEvent> Events { get; } = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true });
    }
}
