namespace Tessera.Scsi;

/// <summary>
/// One SCSI command as a transport hands it to the target (SAM-5 5.1 "Execute Command"),
/// and the place the target leaves its results. The transport owns the object and its
/// buffers and may pool and reuse it once <see cref="IScsiTarget.ExecuteAsync"/> has completed.
/// </summary>
public sealed class ScsiTask
{
    private readonly byte[] _cdb = new byte[260];
    private readonly byte[] _sense = new byte[252];
    private TaskCompletionSource? _done;
    private int _aborted;   // NotAborted/Aborted/ResponseCommitted, Interlocked: abort races the transport's response
    private int _execution; // ExecutionState, Interlocked: TMFs read it from other threads

    public ItNexus Nexus { get; set; } = null!;

    /// <summary>The 64-bit LUN field as sent (SAM-5 4.7 addressing); see <see cref="LunAddressing"/>.</summary>
    public ulong Lun { get; set; }

    /// <summary>Transport tag (iSCSI Initiator Task Tag); unique among the nexus' open tasks.</summary>
    public uint Tag { get; set; }

    /// <summary>iSCSI CmdSN of the command; used by ABORT TASK's RefCmdSN.</summary>
    public uint CommandSequenceNumber { get; set; }

    public TaskAttribute Attribute { get; set; }

    public int CdbLength { get; private set; }

    public ReadOnlySpan<byte> Cdb => _cdb.AsSpan(0, CdbLength);

    public ReadOnlyMemory<byte> CdbMemory => _cdb.AsMemory(0, CdbLength);

    /// <summary>Expected Data Transfer Length from the transport header, in bytes.</summary>
    public int ExpectedDataTransferLength { get; set; }

    /// <summary>Read (Data-In) expected: the initiator set the R bit.</summary>
    public bool IsRead { get; set; }

    /// <summary>Write (Data-Out) expected: the initiator set the W bit.</summary>
    public bool IsWrite { get; set; }

    /// <summary>
    /// Data-Out received from the initiator (exactly <see cref="ExpectedDataTransferLength"/> bytes
    /// when <see cref="IsWrite"/>, else empty).
    /// </summary>
    public ReadOnlyMemory<byte> DataOut { get; set; }

    /// <summary>
    /// Buffer for Data-In, <see cref="ExpectedDataTransferLength"/> bytes long when <see cref="IsRead"/>.
    /// The target writes at most this many bytes and records how many in <see cref="DataInLength"/>.
    /// </summary>
    public Memory<byte> DataIn { get; set; }

    // ---- results ----

    public ScsiStatus Status { get; set; }

    /// <summary>Bytes of valid Data-In the target produced (≤ DataIn.Length).</summary>
    public int DataInLength { get; set; }

    /// <summary>
    /// Bytes the command itself would transfer (from its CDB: transfer or allocation length),
    /// whatever the transport expected; the transport derives residual over/underflow from it
    /// (RFC 7143 11.4.5). -1 means "equal to what was transferred".
    /// </summary>
    public int CommandTransferLength { get; set; } = -1;

    public ReadOnlySpan<byte> Sense => _sense.AsSpan(0, SenseLength);

    public int SenseLength { get; private set; }

    /// <summary>Set by task management (ABORT TASK, LU RESET …); the transport then sends no response.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) == Aborted;

    /// <summary>Invoked once when the task is aborted by a task management function.</summary>
    public Action<ScsiTask>? AbortCallback { get; set; }

    public Span<byte> SenseBuffer => _sense;

    public void SetCdb(ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length > _cdb.Length)
            throw new ArgumentException($"CDB is {cdb.Length} bytes; at most {_cdb.Length} allowed.", nameof(cdb));
        cdb.CopyTo(_cdb);
        CdbLength = cdb.Length;
    }

    public void SetSense(ReadOnlySpan<byte> sense)
    {
        int n = Math.Min(sense.Length, _sense.Length);
        sense[..n].CopyTo(_sense);
        SenseLength = n;
    }

    public void SetSenseLength(int length) => SenseLength = Math.Clamp(length, 0, _sense.Length);

    private const int NotAborted = 0, Aborted = 1, ResponseCommitted = 2;

    /// <summary>
    /// Marks the task aborted and tells its transport (idempotent). False when the transport has
    /// already committed to returning the task's status (<see cref="TryCommitResponse"/>): the task
    /// completed, and an ABORT TASK that comes this late finds no task (SAM-5 7.2) — never a
    /// FUNCTION COMPLETE beside a status the initiator also receives.
    /// </summary>
    public bool Abort()
    {
        int prior = Interlocked.CompareExchange(ref _aborted, Aborted, NotAborted);
        if (prior == ResponseCommitted) return false;
        if (prior == NotAborted) AbortCallback?.Invoke(this);
        return true;
    }

    /// <summary>
    /// The transport calls this once it is about to return the task's status: true unless the task was
    /// aborted first (then no status goes out, SAM-5 7.1); from then on <see cref="Abort"/> fails.
    /// </summary>
    public bool TryCommitResponse() => Interlocked.CompareExchange(ref _aborted, ResponseCommitted, NotAborted) != Aborted;

    /// <summary>
    /// Completes when the target has finished with the task (used by TMFs that must wait).
    /// A task that is not executing right now is already complete. The completion source is only
    /// allocated when someone waits, so the I/O path stays allocation-free.
    /// </summary>
    public Task Completion
    {
        get
        {
            if (Volatile.Read(ref _execution) != Running) return Task.CompletedTask;
            var tcs = Volatile.Read(ref _done);
            if (tcs is null)
            {
                var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                tcs = Interlocked.CompareExchange(ref _done, created, null) ?? created;
            }
            // Interlocked above is a full fence: either MarkCompleted sees our source, or we see its state.
            if (Volatile.Read(ref _execution) != Running) tcs.TrySetResult();
            return tcs.Task;
        }
    }

    private const int Idle = 0, Running = 1, Finished = 2;

    /// <summary>True while the target executes the task.</summary>
    internal bool IsRunning => Volatile.Read(ref _execution) == Running;

    /// <summary>
    /// Enters execution. Returns false when the task was aborted first; the full fence pairs with
    /// <see cref="Abort"/> so a TMF either sees the task running (and waits) or the task sees the abort.
    /// </summary>
    internal bool MarkStarted()
    {
        Volatile.Write(ref _done, null); // a source left from an earlier use of a pooled task
        Interlocked.Exchange(ref _execution, Running);
        if (!IsAborted) return true;
        MarkCompleted();
        return false;
    }

    internal void MarkCompleted()
    {
        Interlocked.Exchange(ref _execution, Finished);
        Volatile.Read(ref _done)?.TrySetResult();
    }

    /// <summary>Clears every field so the transport can reuse the object.</summary>
    public void Reset()
    {
        Nexus = null!;
        Lun = 0; Tag = 0; CommandSequenceNumber = 0; Attribute = TaskAttribute.Simple;
        CdbLength = 0; ExpectedDataTransferLength = 0; IsRead = false; IsWrite = false;
        DataOut = default; DataIn = default;
        Status = ScsiStatus.Good; DataInLength = 0; CommandTransferLength = -1; SenseLength = 0;
        _aborted = 0; _execution = Idle; AbortCallback = null; _done = null;
    }
}
