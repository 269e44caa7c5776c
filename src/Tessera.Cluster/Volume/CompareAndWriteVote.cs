namespace Tessera.Cluster.Volume;

/// <summary>
/// Two-phase decision of a COMPARE AND WRITE whose blocks have several owners (SBC-4 5.3: the
/// compare and the write are one atomic operation). Each owner, holding its stripe locks in token
/// order, reports its first miscompare (request-relative byte offset, or −1) and waits; the write
/// goes ahead on every owner only when nobody miscompared. Deadlock-free because every owner takes
/// its locks in the one global order of the token protocol, so a waiting part only ever waits for
/// requests ordered before it. In process this object is shared; over TCP the portal keeps it and the owners reach it through
/// <see cref="RemoteCompareAndWriteVote"/> (a vote frame there, a decision frame back).
/// </summary>
internal sealed class CompareAndWriteVote : ICompareAndWriteVote
{
    private readonly TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining;
    private int _miscompare = -1;

    public CompareAndWriteVote(int voters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(voters, 1);
        _remaining = voters;
    }

    /// <summary>Smallest miscompare offset reported, or −1.</summary>
    public int Miscompare
    {
        get
        {
            lock (_decision)
            {
                return _miscompare;
            }
        }
    }

    /// <summary>Reports one owner's compare; the task says whether to write.</summary>
    public Task<bool> ReportAsync(int miscompare)
    {
        bool decide = false;
        bool commit = false;
        lock (_decision)
        {
            if (miscompare >= 0 && (_miscompare < 0 || miscompare < _miscompare))
            {
                _miscompare = miscompare;
            }

            if (--_remaining == 0)
            {
                decide = true;
                commit = _miscompare < 0;
            }
        }

        if (decide)
        {
            _decision.TrySetResult(commit);
        }

        return _decision.Task;
    }

    /// <summary>A part failed before voting: nobody writes.</summary>
    public void Abort(Exception reason) => _decision.TrySetException(reason);
}
