namespace Tessera.Cluster.Volume;

/// <summary>One request's place in the stripe queues of <see cref="StripeLockTable"/>; pooled by the table after release.</summary>
internal sealed class StripeLockGrant
{
    // Created only when the request has to wait, so an uncontended lock allocates no task.
    // Continuations run on the thread pool: a releaser must not run the next holder's I/O inline.
    private TaskCompletionSource? _waiter;
    private volatile bool _granted;

    public long[] Stripes { get; private set; } = [];

    public int Count { get; private set; }

    /// <summary>Queues this request is not yet at the head of (guarded by the table's lock).</summary>
    internal int Blocked { get; set; }

    public bool IsGranted => _granted;

    public ValueTask WaitAsync() => _granted ? default : new ValueTask(_waiter!.Task);

    /// <summary>Fresh or pooled: set up for one request (under the table's lock).</summary>
    internal void Reset(long[] stripes, int count)
    {
        Stripes = stripes;
        Count = count;
        Blocked = 0;
        _granted = false;
        _waiter = null;
    }

    /// <summary>Called under the table's lock when the request must wait, before anyone can grant it.</summary>
    internal void PrepareToWait() => _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Grant()
    {
        _granted = true;
        _waiter?.TrySetResult();
    }
}
