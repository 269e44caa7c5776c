namespace Tessera.Cluster.Volume;

/// <summary>One request's place in the stripe queues of <see cref="StripeLockTable"/>.</summary>
internal sealed class StripeLockGrant
{
    // Created only when the request has to wait, so an uncontended lock allocates no task.
    // Continuations run on the thread pool: a releaser must not run the next holder's I/O inline.
    private TaskCompletionSource? _waiter;
    private volatile bool _granted;

    public StripeLockGrant(long[] stripes, int count)
    {
        Stripes = stripes;
        Count = count;
    }

    public long[] Stripes { get; }

    public int Count { get; }

    /// <summary>Queues this request is not yet at the head of (guarded by the table's lock).</summary>
    internal int Blocked { get; set; }

    public bool IsGranted => _granted;

    public ValueTask WaitAsync() => _granted ? default : new ValueTask(_waiter!.Task);

    /// <summary>Called under the table's lock when the request must wait, before anyone can grant it.</summary>
    internal void PrepareToWait() => _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void Grant()
    {
        _granted = true;
        _waiter?.TrySetResult();
    }
}
