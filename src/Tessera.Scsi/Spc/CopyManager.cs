namespace Tessera.Scsi;

/// <summary>SPC-5 6.18.3 Table 136 COPY MANAGER STATUS.</summary>
internal enum CopyManagerStatus : byte
{
    InProgress = 0x00,
    CompletedWithoutErrors = 0x01,
    CompletedWithErrors = 0x02,
}

/// <summary>
/// One EXTENDED COPY (LID1) known to the copy manager: in progress, or finished and held for
/// RECEIVE COPY RESULTS. Updated by the copying task, read by others; fields are published with
/// volatile writes so a concurrent COPY STATUS sees a consistent-enough progress report.
/// </summary>
internal sealed class CopyOperation(string nexusKey, byte listIdentifier, bool listIdentifierUsed, bool hold)
{
    private volatile int _status = (int)CopyManagerStatus.InProgress;
    private volatile int _segmentsProcessed;
    private long _bytesTransferred;

    public string NexusKey { get; } = nexusKey;
    public byte ListIdentifier { get; } = listIdentifier;

    /// <summary>False for LIST ID USAGE 11b: the copy cannot be named by RECEIVE COPY RESULTS.</summary>
    public bool ListIdentifierUsed { get; } = listIdentifierUsed;

    /// <summary>LIST ID USAGE 00b: the results stay available after completion.</summary>
    public bool Hold { get; } = hold;

    public CopyManagerStatus Status => (CopyManagerStatus)_status;
    public int SegmentsProcessed => _segmentsProcessed;
    public long BytesTransferred => Interlocked.Read(ref _bytesTransferred);

    public void Transferred(long bytes) => Interlocked.Add(ref _bytesTransferred, bytes);
    public void SegmentDone() => _segmentsProcessed++;
    public void Complete(bool errors) => _status = (int)(errors ? CopyManagerStatus.CompletedWithErrors : CopyManagerStatus.CompletedWithoutErrors);
}

/// <summary>
/// The copy manager of one logical unit (SPC-5 5.17.3): the limits it enforces and the EXTENDED COPY
/// operations it knows, keyed by I_T nexus and LIST IDENTIFIER (SPC-5 6.6.3: list identifiers are
/// unique per I_T nexus). Copy results are node-local and volatile: a host re-issues a copy whose node
/// failed, and RECEIVE COPY RESULTS is answered by the node that ran the copy.
/// </summary>
internal sealed class CopyManager
{
    /// <summary>MAXIMUM CSCD DESCRIPTOR COUNT.</summary>
    public const int MaxCscdDescriptors = 8;

    /// <summary>MAXIMUM SEGMENT DESCRIPTOR COUNT.</summary>
    public const int MaxSegmentDescriptors = 16;

    /// <summary>MAXIMUM DESCRIPTOR LIST LENGTH (CSCD plus segment descriptor lists, bytes).</summary>
    public const int MaxDescriptorListLength = 1024;

    /// <summary>TOTAL CONCURRENT COPIES and MAXIMUM CONCURRENT COPIES.</summary>
    public const int MaxConcurrentCopies = 16;

    /// <summary>Bound on held results per LU; the oldest finished ones are dropped first.</summary>
    public const int MaxHeldResults = 256;

    private readonly Lock _gate = new();
    private readonly List<CopyOperation> _operations = [];

    public enum BeginResult { Started, ListIdentifierInUse, TooManyCopies }

    /// <summary>
    /// Registers a new copy. A LIST IDENTIFIER still in use by a running copy of the same nexus is an
    /// error (SPC-5 6.6.3: OPERATION IN PROGRESS); a finished one is replaced.
    /// </summary>
    public BeginResult TryBegin(string nexusKey, byte listIdentifier, bool listIdentifierUsed, bool hold, out CopyOperation operation)
    {
        operation = new CopyOperation(nexusKey, listIdentifier, listIdentifierUsed, hold && listIdentifierUsed);
        lock (_gate)
        {
            int running = 0;
            for (int i = _operations.Count - 1; i >= 0; i--)
            {
                var o = _operations[i];
                if (o.Status == CopyManagerStatus.InProgress) running++;
                if (!listIdentifierUsed || !o.ListIdentifierUsed || o.NexusKey != nexusKey || o.ListIdentifier != listIdentifier) continue;
                if (o.Status == CopyManagerStatus.InProgress) return BeginResult.ListIdentifierInUse;
                _operations.RemoveAt(i);
            }
            if (running >= MaxConcurrentCopies) return BeginResult.TooManyCopies;
            _operations.Add(operation);
            Trim();
        }
        return BeginResult.Started;
    }

    /// <summary>The copy finished; its results stay only when it asked for them to be held.</summary>
    public void End(CopyOperation operation, bool errors)
    {
        operation.Complete(errors);
        if (operation.Hold) return;
        lock (_gate) _operations.Remove(operation);
    }

    /// <summary>The copy of <paramref name="nexusKey"/> with <paramref name="listIdentifier"/>, running or held.</summary>
    public CopyOperation? Find(string nexusKey, byte listIdentifier)
    {
        lock (_gate)
        {
            for (int i = _operations.Count - 1; i >= 0; i--)
            {
                var o = _operations[i];
                if (o.ListIdentifierUsed && o.NexusKey == nexusKey && o.ListIdentifier == listIdentifier) return o;
            }
        }
        return null;
    }

    /// <summary>I_T nexus loss: held results of the nexus are discarded (running copies finish unobserved).</summary>
    public void Forget(string nexusKey)
    {
        lock (_gate) _operations.RemoveAll(o => o.NexusKey == nexusKey && o.Status != CopyManagerStatus.InProgress);
    }

    public int Count
    {
        get { lock (_gate) return _operations.Count; }
    }

    private void Trim()
    {
        for (int i = 0; i < _operations.Count && _operations.Count > MaxHeldResults; i++)
        {
            if (_operations[i].Status == CopyManagerStatus.InProgress) continue;
            _operations.RemoveAt(i);
            i--;
        }
    }
}
