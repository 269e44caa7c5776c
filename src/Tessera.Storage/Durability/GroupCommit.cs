using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Tessera.Storage;

/// <summary>
/// Group commit for one file: every flush request that arrived before a sync started is served
/// by that one sync, so N concurrent FUA writes or SYNCHRONIZE CACHE commands cost about one
/// fdatasync instead of N. The sync runs on the thread pool, never on the caller's thread, and
/// completes each waiter asynchronously so one I/O loop's continuation cannot delay the next
/// batch. Waiters are pooled: a flush allocates nothing once the pool is warm.
/// A failed sync poisons the committer: after a failed fsync Linux may have dropped the dirty
/// pages, so no later flush may report success (the "fsyncgate" lesson).
/// </summary>
internal sealed class GroupCommit : IThreadPoolWorkItem
{
    /// <summary>Performs one sync; the argument is true when a full fsync (metadata too) is required.</summary>
    private readonly Action<bool> _sync;
    private readonly Lock _gate = new();
    private Waiter? _pending;
    private Waiter? _free;
    private bool _running;
    private int _metadataDirty;
    private ExceptionDispatchInfo? _fault;
    private long _syncCount;
    private long _requestCount;

    internal GroupCommit(Action<bool> sync)
    {
        _sync = sync;
    }

    /// <summary>Number of syncs performed (for tests and measurements).</summary>
    internal long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>Number of flush requests served or pending.</summary>
    internal long RequestCount => Interlocked.Read(ref _requestCount);

    /// <summary>Asks the next sync to be a full fsync (e.g. after a hole punch changed the extent map).</summary>
    internal void MarkMetadataDirty() => Volatile.Write(ref _metadataDirty, 1);

    internal ValueTask FlushAsync()
    {
        Waiter waiter;
        short token;
        bool start = false;
        lock (_gate)
        {
            if (_fault is not null)
            {
                return ValueTask.FromException(_fault.SourceException);
            }
            waiter = _free ?? new Waiter(this);
            _free = waiter.Next;
            waiter.Next = _pending;
            _pending = waiter;
            token = waiter.Version;
            _requestCount++;
            if (!_running)
            {
                _running = true;
                start = true;
            }
        }
        if (start)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        return new ValueTask(waiter, token);
    }

    /// <summary>Synchronous final sync used by Dispose; joins the group like any other request.</summary>
    internal void Flush() => FlushAsync().AsTask().GetAwaiter().GetResult();

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            Waiter? batch;
            lock (_gate)
            {
                // Everything queued so far was written before this sync starts, so this sync covers it.
                batch = _pending;
                _pending = null;
                if (batch is null)
                {
                    _running = false;
                    return;
                }
            }

            Exception? error = null;
            if (_fault is null)
            {
                bool full = Interlocked.Exchange(ref _metadataDirty, 0) != 0;
                try
                {
                    _sync(full);
                    Interlocked.Increment(ref _syncCount);
                }
                catch (Exception ex)
                {
                    error = ex;
                    lock (_gate)
                    {
                        _fault ??= ExceptionDispatchInfo.Capture(ex);
                    }
                }
            }
            else
            {
                error = _fault.SourceException;
            }

            while (batch is not null)
            {
                Waiter next = batch.Next!;
                batch.Next = null;
                if (error is null)
                {
                    batch.Complete();
                }
                else
                {
                    batch.Fail(error);
                }
                batch = next;
            }
        }
    }

    private void Return(Waiter waiter)
    {
        lock (_gate)
        {
            waiter.Next = _free;
            _free = waiter;
        }
    }

    /// <summary>A reusable completion source for one flush request.</summary>
    private sealed class Waiter(GroupCommit owner) : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

        internal Waiter? Next;

        internal short Version => _core.Version;

        internal void Complete() => _core.SetResult(true);

        internal void Fail(Exception error) => _core.SetException(error);

        public void GetResult(short token)
        {
            try
            {
                _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);
    }
}
