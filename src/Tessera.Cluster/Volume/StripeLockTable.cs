namespace Tessera.Cluster.Volume;

/// <summary>
/// Per-stripe FIFO locks of one owner. A request enqueues on all its stripes in one atomic step
/// (<see cref="Enqueue"/>) and runs when it heads every one of those queues. Hence:
/// <list type="bullet">
/// <item>requests that share a stripe run in enqueue order — the owner enqueues in its apply
/// order, which for multi-owner writes is the token order (C3), so overlapping writes get the same
/// winner on every owner;</item>
/// <item>no deadlock: a request only ever waits for requests enqueued before it;</item>
/// <item>requests on disjoint stripes run concurrently.</item>
/// </list>
/// </summary>
internal sealed class StripeLockTable
{
    private readonly Dictionary<long, Queue<StripeLockGrant>> _queues = [];
    private readonly Stack<Queue<StripeLockGrant>> _spareQueues = new();

    /// <summary>Stripe queues currently in use (tests: empty when idle).</summary>
    public int ActiveStripes
    {
        get
        {
            lock (_queues)
            {
                return _queues.Count;
            }
        }
    }

    /// <summary>Queues a request on <paramref name="stripes"/> (distinct). Await <see cref="StripeLockGrant.WaitAsync"/>, then <see cref="Release"/>.</summary>
    public StripeLockGrant Enqueue(long[] stripes, int count)
    {
        var grant = new StripeLockGrant(stripes, count);
        int blocked = 0;
        lock (_queues)
        {
            for (int i = 0; i < count; i++)
            {
                if (!_queues.TryGetValue(stripes[i], out Queue<StripeLockGrant>? queue))
                {
                    queue = _spareQueues.Count > 0 ? _spareQueues.Pop() : new Queue<StripeLockGrant>();
                    _queues.Add(stripes[i], queue);
                }

                if (queue.Count > 0)
                {
                    blocked++;
                }

                queue.Enqueue(grant);
            }

            grant.Blocked = blocked;
            if (blocked > 0)
            {
                grant.PrepareToWait();
            }
        }

        if (blocked == 0)
        {
            grant.Grant();
        }

        return grant;
    }

    public void Release(StripeLockGrant grant)
    {
        List<StripeLockGrant>? ready = null;
        lock (_queues)
        {
            for (int i = 0; i < grant.Count; i++)
            {
                Queue<StripeLockGrant> queue = _queues[grant.Stripes[i]];
                StripeLockGrant head = queue.Dequeue();
                if (!ReferenceEquals(head, grant))
                {
                    throw new InvalidOperationException($"stripe {grant.Stripes[i]}: released by a request that did not hold it");
                }

                if (queue.Count == 0)
                {
                    _queues.Remove(grant.Stripes[i]);
                    _spareQueues.Push(queue);
                }
                else
                {
                    StripeLockGrant next = queue.Peek();
                    if (--next.Blocked == 0)
                    {
                        (ready ??= []).Add(next);
                    }
                }
            }
        }

        if (ready is not null)
        {
            foreach (StripeLockGrant next in ready)
            {
                next.Grant();
            }
        }
    }
}

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
