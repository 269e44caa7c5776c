namespace Tessera.Cluster.Volume;

/// <summary>
/// Per-stripe FIFO locks of one owner. A request enqueues on all its stripes in one atomic step
/// (<see cref="Enqueue"/>) and runs when it heads every one of those queues. Hence:
/// <list type="bullet">
/// <item>requests that share a stripe run in enqueue order — the owner enqueues in its apply
/// order, which for multi-owner writes is the token order (C3), so overlapping writes get the same
/// winner on every owner;</item>
/// <item>no deadlock: a request only ever waits for requests enqueued before it;</item>
/// <item>requests on disjoint stripes run concurrently;</item>
/// <item>single-stripe writes that would queue behind a single-stripe write still waiting at the tail
/// of the stripe's queue join it instead (<see cref="EnqueueWrite"/>, <see cref="StripeWriteBatch"/>).</item>
/// </list>
/// </summary>
internal sealed class StripeLockTable
{
    private readonly Dictionary<long, Queue<StripeLockGrant>> _queues = [];
    private readonly Stack<Queue<StripeLockGrant>> _spareQueues = new();
    private readonly Stack<StripeLockGrant> _spareGrants = new();
    private readonly Dictionary<long, StripeWriteBatch> _openBatches = [];
    private readonly Stack<StripeWriteBatch> _spareBatches = new();

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
        bool ready;
        lock (_queues)
        {
            grant = EnqueueLocked(stripes, count);
            ready = grant.Blocked == 0;
        }

        if (ready)
        {
            grant.Grant();
        }

        return grant;
    }

    /// <summary>
    /// Queues a single-stripe write (<paramref name="stripes"/>[0], the array then belongs to the
    /// batch's grant until release) — or, when the tail of the stripe's queue is a batch that has not
    /// begun, joins it: then <paramref name="joined"/> is the member's completion and the array is
    /// not used. The leader awaits the grant, calls <see cref="Seal"/>, writes, completes the batch
    /// and releases with <see cref="Release(StripeWriteBatch)"/>.
    /// </summary>
    public StripeWriteBatch EnqueueWrite(long[] stripes, OwnerRequest request, out Task<int>? joined)
    {
        long stripe = stripes[0];
        StripeWriteBatch batch;
        bool ready;
        lock (_queues)
        {
            if (_openBatches.TryGetValue(stripe, out StripeWriteBatch? open))
            {
                joined = open.Join(request);
                return open;
            }

            StripeLockGrant grant = EnqueueLocked(stripes, 1);
            batch = _spareBatches.Count > 0 ? _spareBatches.Pop() : new StripeWriteBatch();
            batch.Reset(stripe, grant, request);
            _openBatches.Add(stripe, batch);
            ready = grant.Blocked == 0;
        }

        joined = null;
        if (ready)
        {
            batch.Grant.Grant();
        }

        return batch;
    }

    /// <summary>The leader begins: no more members (call once the grant is held).</summary>
    public void Seal(StripeWriteBatch batch)
    {
        lock (_queues)
        {
            if (_openBatches.TryGetValue(batch.Stripe, out StripeWriteBatch? open) && ReferenceEquals(open, batch))
            {
                _openBatches.Remove(batch.Stripe);
            }
        }
    }

    /// <summary>Releases a sealed batch's stripe; the batch must not be touched afterwards (it is reused).</summary>
    public void Release(StripeWriteBatch batch)
    {
        Release(batch.Grant);
        lock (_queues)
        {
            batch.Clear();
            _spareBatches.Push(batch);
        }
    }

    private StripeLockGrant EnqueueLocked(long[] stripes, int count)
    {
        StripeLockGrant grant = _spareGrants.Count > 0 ? _spareGrants.Pop() : new StripeLockGrant();
        grant.Reset(stripes, count);
        int blocked = 0;
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

            // The stripe's tail is now this grant: a batch before it takes no one any more, or a
            // joiner would overtake it.
            _openBatches.Remove(stripes[i]);
        }

        grant.Blocked = blocked;
        if (blocked > 0)
        {
            grant.PrepareToWait();
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
