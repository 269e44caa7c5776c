using Tessera.Cluster.Metadata;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// The cluster-wide context of one LU on one node (issue 5 item 4, ARCHITECTURE decision 2). The committed
/// <see cref="LuState"/> is one JSON value at /tessera/context/&lt;volume-id&gt;. <see cref="Current"/> is this
/// node's applied copy, kept up to date by the node's <see cref="ContextReplicator"/>. A change is an
/// optimistic transaction (compare the value's mod revision, put the new state) that completes only after
/// every other live node has acknowledged applying that revision, or has been fenced — so the instant
/// <see cref="ChangeAsync{T}"/> returns, a command on any node that still serves sees the new state.
/// </summary>
internal sealed class ClusterLuContext : ILuContext, IDistributedTaskSet, IAsyncDisposable
{
    private readonly ContextReplicator _node;
    private readonly string _key;
    private readonly string _selfKey;
    private readonly string _abortKey;
    private readonly Lock _gate = new();
    // Serialises this node's commits of this LU: local changes queue instead of defeating each other's
    // compare-and-swap. Held across read/compute/commit only, not across the barrier, so commits pipeline.
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private LuState _current = LuState.Initial;
    private CommittedLuState? _applied;
    private CommittedLuState? _latest;
    private bool _fenced;
    private Func<TaskAbortOrder, ValueTask<IReadOnlyCollection<string>>>? _abortLocal;

    private ClusterLuContext(ContextReplicator node, string volumeId)
    {
        _node = node;
        VolumeId = volumeId;
        _key = ContextKeys.Of(volumeId);
        _selfKey = MetadataKeys.Node(node.Self.NodeId);
        _abortKey = ContextKeys.AbortOrder(volumeId);
    }

    public string VolumeId { get; }

    /// <summary>The applied copy: one volatile field read, no lock, no allocation (the I/O path reads it per command).</summary>
    public LuState Current => Volatile.Read(ref _current);

    /// <summary>Store revision of the applied copy (the mod revision of the context value).</summary>
    public long AppliedRevision
    {
        get
        {
            lock (_gate)
            {
                return _applied?.ModRevision ?? 0;
            }
        }
    }

    /// <summary>True once the node has been fenced: changes are refused, the copy no longer follows the store.</summary>
    public bool IsFenced
    {
        get
        {
            lock (_gate)
            {
                return _fenced;
            }
        }
    }

    /// <summary>
    /// Opens the context of <paramref name="volumeId"/> on <paramref name="node"/>: registers with the node's
    /// watch first (so no revision committed from now on is missed), then creates the value from
    /// <paramref name="initial"/> if absent, atomically, or loads the committed one.
    /// </summary>
    internal static async Task<ClusterLuContext> OpenAsync(ContextReplicator node, string volumeId, LuState? initial, CancellationToken cancellationToken)
    {
        var context = new ClusterLuContext(node, volumeId);
        node.Register(context);
        try
        {
            var state = initial ?? LuState.Initial;
            byte[] json = LuStateJson.Serialize(state);
            var result = await node.Store.TxnAsync(
                [Compare.Absent(context._key)],
                [TxnOp.Put(context._key, json)],
                [TxnOp.Get(context._key)],
                cancellationToken).ConfigureAwait(false);
            context.Install(result.Succeeded
                ? new CommittedLuState(state, json, result.Revision)
                : CommittedLuState.Decode(result.Responses[0][0]));
            return context;
        }
        catch
        {
            node.Unregister(context);
            throw;
        }
    }

    public async ValueTask<T> ChangeAsync<T>(Func<LuState, (LuState Next, T Result)> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var (result, _) = await CommitAsync(change, null, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Like <see cref="ChangeAsync{T}"/>, and commits in the same transaction an order, computed from the
    /// change's result, to abort tasks of this LU on every other node (PREEMPT AND ABORT, LOGICAL UNIT
    /// RESET, CLEAR TASK SET). Completes once every other live node has applied the change, aborted the
    /// matching tasks and seen them end — or has been fenced. Returns the I_T nexuses that lost tasks on
    /// other nodes; the caller aborts this node's own tasks itself (it knows which task is its own).
    /// </summary>
    public async ValueTask<(T Result, IReadOnlyCollection<string> Aborted)> ChangeAndAbortAsync<T>(
        Func<LuState, (LuState Next, T Result)> change, Func<T, TaskAbortOrder?> orderOf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(orderOf);
        return await CommitAsync(change, orderOf, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands in this node's task set for the LU (the <c>LogicalUnit</c> constructor does): abort orders
    /// committed by other nodes reach it through <paramref name="abortLocal"/>, which aborts the matching
    /// tasks, waits for them to end and returns the I_T nexus keys that lost tasks.
    /// </summary>
    public void BindLocalTaskSet(Func<TaskAbortOrder, ValueTask<IReadOnlyCollection<string>>> abortLocal) =>
        Volatile.Write(ref _abortLocal, abortLocal);

    private async Task<(T Result, IReadOnlyCollection<string> Aborted)> CommitAsync<T>(
        Func<LuState, (LuState Next, T Result)> change, Func<T, TaskAbortOrder?>? orderOf, CancellationToken cancellationToken)
    {
        ThrowIfFenced();
        CommittedLuState committed;
        IReadOnlyList<KeyValueEntry> live;
        T result;
        bool aborts;
        await _commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The first attempt runs on the newest version this node knows (usually the latest: every
            // commit is applied everywhere before it completes) and saves a read; a stale guess just fails
            // the compare and the failure branch hands back the latest value.
            var basis = Newest();
            bool confirmed = false;
            int conflicts = 0;
            for (int attempt = 0; ; attempt++)
            {
                if (attempt >= _node.Options.MaxCommitAttempts)
                {
                    throw new LuContextUnavailableException($"context of volume {VolumeId}: still conflicting after {attempt} attempts");
                }

                var (next, outcome) = change(basis.State);
                ArgumentNullException.ThrowIfNull(next, "change(...).Next");
                var order = orderOf?.Invoke(outcome);
                byte[]? json = null;
                bool unchanged = ReferenceEquals(next, basis.State) || (json = LuStateJson.Serialize(next)).AsSpan().SequenceEqual(basis.Json);
                if (unchanged && order is null)
                {
                    // Nothing to write. The result only counts if it was computed on the latest version.
                    if (confirmed)
                    {
                        Install(basis);
                        return (outcome, []);
                    }

                    var entry = await ReadAsync(cancellationToken).ConfigureAwait(false);
                    if (entry.ModRevision == basis.ModRevision)
                    {
                        return (outcome, []);
                    }

                    basis = Remember(CommittedLuState.Decode(entry));
                    confirmed = true;
                    continue;
                }

                // An abort order rides on a revision of the context even when the state is unchanged.
                json = unchanged ? basis.Json : json ?? LuStateJson.Serialize(next);
                List<TxnOp> writes = [];
                if (order is not null)
                {
                    // Before the state: a node's watch sees the order, then the state; it acknowledges the
                    // revision only on the state, so an ack never precedes the order's delivery.
                    writes.Add(TxnOp.Put(_abortKey, LuStateJson.SerializeRecord(new CommittedAbortOrder(order, _node.Self.NodeId))));
                }

                writes.Add(TxnOp.Put(_key, json));
                // The live set is read at the commit revision: a node that joins later reads a context
                // that already contains this change before it serves.
                writes.Add(TxnOp.GetPrefix(MetadataKeys.Nodes));
                TxnResult txn;
                try
                {
                    txn = await _node.Store.TxnAsync(
                        [
                            Compare.ModRevision(_key, CompareOp.Equal, basis.ModRevision),
                            // Only a live incarnation commits: a fenced node's commands must not change anything.
                            Compare.CreateRevision(_selfKey, CompareOp.Equal, _node.Self.CreateRevision),
                        ],
                        writes,
                        [TxnOp.Get(_key), TxnOp.Get(_selfKey)],
                        cancellationToken).ConfigureAwait(false);
                }
                catch (MetadataStoreException e)
                {
                    throw new LuContextUnavailableException($"context of volume {VolumeId}: metadata store unavailable", e, mayHaveCommitted: true);
                }

                if (txn.Succeeded)
                {
                    committed = Remember(new CommittedLuState(unchanged ? basis.State : next, json, txn.Revision));
                    live = txn.Responses[^1];
                    result = outcome;
                    aborts = order is not null;
                    break;
                }

                if (txn.Responses[1] is not [var self] || self.CreateRevision != _node.Self.CreateRevision)
                {
                    throw new LuContextUnavailableException($"node {_node.Self.NodeId} has been fenced; context changes are refused");
                }

                if (txn.Responses[0] is not [var latest])
                {
                    throw new LuContextUnavailableException($"context of volume {VolumeId} was deleted");
                }

                if (confirmed)
                {
                    // Lost a real race (not just a stale guess): back off so contenders spread out.
                    await BackoffAsync(++conflicts, cancellationToken).ConfigureAwait(false);
                }

                basis = Remember(CommittedLuState.Decode(latest));
                confirmed = true;
            }
        }
        finally
        {
            _commitGate.Release();
        }

        // Committed: from here on the change is a fact, so the barrier is not cancellable — every live
        // node applies it, or is fenced, before anyone is told.
        var aborted = await CompleteBarrierAsync(committed.ModRevision, live, aborts).ConfigureAwait(false);
        Install(committed);
        return (result, aborted);
    }

    public ValueTask DisposeAsync()
    {
        _node.Unregister(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>A committed revision arrived through the node's watch (in revision order).</summary>
    internal void ApplyCommitted(ReadOnlyMemory<byte> json, long modRevision)
    {
        lock (_gate)
        {
            if (_fenced || (_applied is { } applied && applied.ModRevision >= modRevision))
            {
                return;
            }
        }

        CommittedLuState version;
        try
        {
            version = new CommittedLuState(LuStateJson.Deserialize(json.Span), json.ToArray(), modRevision);
        }
        catch (InvalidDataException)
        {
            // Serving on with an older context would be a window; stop serving this LU instead.
            Fence();
            return;
        }

        Install(version);
    }

    /// <summary>
    /// An abort order committed by another node arrived through the watch: abort the matching local tasks
    /// off the watch loop (a task being aborted may itself wait for a commit barrier, which needs this
    /// node's watch to go on), then report to the committer.
    /// </summary>
    internal void ApplyAbortOrder(ReadOnlyMemory<byte> json, long revision)
    {
        if (IsFenced)
        {
            return;
        }

        CommittedAbortOrder committed;
        try
        {
            committed = LuStateJson.DeserializeRecord<CommittedAbortOrder>(json.Span);
        }
        catch (InvalidDataException)
        {
            Fence(); // an order this node cannot follow: it must not go on serving the LU
            return;
        }

        if (committed.OriginNode == _node.Self.NodeId)
        {
            return; // the committing command aborts its own node's tasks itself
        }

        var order = committed.Order;

        var abortLocal = Volatile.Read(ref _abortLocal);
        _ = Task.Run(async () =>
        {
            IReadOnlyCollection<string> aborted = abortLocal is null ? [] : await abortLocal(order).ConfigureAwait(false);
            await _node.ReportAbortAsync(VolumeId, revision, aborted).ConfigureAwait(false);
        });
    }

    /// <summary>The node is out of the cluster: stop following the store and refuse changes.</summary>
    internal void Fence()
    {
        lock (_gate)
        {
            if (_fenced)
            {
                return;
            }

            _fenced = true;
            if (_node.Options.LocalTargetPortGroupId is { } group)
            {
                // Local only, never committed: this node's ports report the LU unavailable (SPC-5 5.16.2.4.5)
                // so hosts take another path; REPORT TARGET PORT GROUPS and INQUIRY still answer.
                Volatile.Write(ref _current, _current with { Alua = _current.Alua.MarkUnavailable(group) });
            }
        }
    }

    /// <summary>Installs a committed version as the applied copy if it is newer than the one in place.</summary>
    private void Install(CommittedLuState version)
    {
        lock (_gate)
        {
            if (_latest is null || version.ModRevision > _latest.ModRevision)
            {
                _latest = version;
            }

            if (_fenced || (_applied is not null && _applied.ModRevision >= version.ModRevision))
            {
                return;
            }

            _applied = version;
            Volatile.Write(ref _current, version.State);
        }
    }

    private CommittedLuState Remember(CommittedLuState version)
    {
        lock (_gate)
        {
            if (_latest is null || version.ModRevision > _latest.ModRevision)
            {
                _latest = version;
            }

            return version;
        }
    }

    private CommittedLuState Newest()
    {
        lock (_gate)
        {
            return _latest ?? throw new InvalidOperationException("context not loaded");
        }
    }

    private async Task<KeyValueEntry> ReadAsync(CancellationToken cancellationToken)
    {
        KeyValueEntry? entry;
        try
        {
            entry = await _node.Store.GetAsync(_key, cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataStoreException e)
        {
            throw new LuContextUnavailableException($"context of volume {VolumeId}: metadata store unavailable", e);
        }

        return entry ?? throw new LuContextUnavailableException($"context of volume {VolumeId} was deleted");
    }

    private async Task<IReadOnlyCollection<string>> CompleteBarrierAsync(long revision, IReadOnlyList<KeyValueEntry> live, bool aborts)
    {
        // A store hiccup during the barrier is retried: the change is committed, and until every live node
        // has applied it or been fenced the command must not complete. Past the bound the command fails —
        // the host then cannot tell whether the change happened, as after any error (SAM-5 5.x).
        var deadline = DateTime.UtcNow + _node.Options.AckTimeout + _node.Options.FenceGrace;
        while (true)
        {
            try
            {
                return await _node.BarrierAsync(revision, live, aborts ? VolumeId : null).ConfigureAwait(false);
            }
            catch (MetadataStoreException e) when (e is not MetadataLeaseLostException)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new LuContextUnavailableException($"context of volume {VolumeId}: revision {revision} committed but not confirmed by every node", e, mayHaveCommitted: true);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            }
        }
    }

    private async Task BackoffAsync(int conflicts, CancellationToken cancellationToken)
    {
        var options = _node.Options;
        double cap = Math.Min(options.MaxBackoff.TotalMilliseconds, options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(conflicts - 1, 16)));
        // Full jitter: contenders that collided once do not collide again in lock step.
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap), cancellationToken).ConfigureAwait(false);
    }

    private void ThrowIfFenced()
    {
        if (IsFenced || _node.IsFenced)
        {
            throw new LuContextUnavailableException($"node {_node.Self.NodeId} has been fenced; context changes are refused");
        }
    }
}
