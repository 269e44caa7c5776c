namespace Tessera.Cluster.Volume;

/// <summary>
/// Small writes to one stripe that queued behind each other at its owner, applied as one: while a
/// single-stripe write waits for the stripe (or has just been granted it and not begun), the next
/// single-stripe writes to that stripe join it instead of queueing behind it
/// (<see cref="StripeLockTable.EnqueueWrite"/>). The leader then merges contiguous members into one
/// partial (or full-stripe) write — one read of old data and parity and one write per run instead of
/// one per member — and every member completes with it.
/// <para>
/// Order is kept: only the tail of the stripe's queue is joinable, so no member overtakes a request
/// queued before it, and members are laid over each other in arrival order, so where members overlap
/// the later one wins exactly as if they had run one by one. Why it matters: each stripe's writes
/// are serialised by its lock, so sequential small writes (a log, qemu-img bench) otherwise run at
/// one per owner round trip — across processes, a few hundred microseconds each.
/// </para>
/// Joinable while the table lists it as its stripe's open batch; guarded by the table's lock until
/// <see cref="StripeLockTable.Seal"/>, the leader's alone after.
/// </summary>
internal sealed class StripeWriteBatch
{
    private readonly List<OwnerRequest> _members = [];
    private TaskCompletionSource<int>? _joined;

    public long Stripe { get; private set; }

    public StripeLockGrant Grant { get; private set; } = null!;

    /// <summary>Members in arrival order; the first is the leader's own request.</summary>
    public IReadOnlyList<OwnerRequest> Members => _members;

    internal void Reset(long stripe, StripeLockGrant grant, OwnerRequest leader)
    {
        Stripe = stripe;
        Grant = grant;
        _members.Clear();
        _members.Add(leader);
        _joined = null;
    }

    /// <summary>A later write joins; it completes when the batch does.</summary>
    internal Task<int> Join(OwnerRequest request)
    {
        _members.Add(request);
        _joined ??= new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        return _joined.Task;
    }

    /// <summary>Completes the members that joined (the leader returns through its own call).</summary>
    public void Complete(Exception? error)
    {
        if (_joined is null)
        {
            return;
        }

        if (error is null)
        {
            _joined.TrySetResult(-1);
        }
        else
        {
            _joined.TrySetException(error);
        }
    }

    internal void Clear()
    {
        _members.Clear();
        _joined = null;
        Grant = null!;
    }
}
