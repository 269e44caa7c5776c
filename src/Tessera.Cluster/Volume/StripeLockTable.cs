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
    private readonly Stack<StripeLockGrant> _spareGrants = new();

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

    /// <summary>
    /// Queues a request on <paramref name="stripes"/> (distinct). Await <see cref="StripeLockGrant.WaitAsync"/>,
    /// then <see cref="Release"/>; the grant must not be touched after release (it is reused).
    /// </summary>
    public StripeLockGrant Enqueue(long[] stripes, int count)
    {
        StripeLockGrant grant;
        int blocked = 0;
        lock (_queues)
        {
            grant = _spareGrants.Count > 0 ? _spareGrants.Pop() : new StripeLockGrant();
            grant.Reset(stripes, count);
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

            grant.Reset([], 0);
            _spareGrants.Push(grant);
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
