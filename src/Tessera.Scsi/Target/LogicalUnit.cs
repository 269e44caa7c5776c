using System.Runtime.CompilerServices;

namespace Tessera.Scsi;

/// <summary>
/// One logical unit (SAM-5 4.6.x) as presented by the target: a LUN, an identity derived from the
/// volume UUID, the block store holding its data and the context holding everything else.
/// Command code reaches data only through <see cref="Store"/> and state only through <see cref="Context"/>,
/// so the distributed volume can replace both.
/// </summary>
public sealed class LogicalUnit
{
    /// <summary>Default MAXIMUM TRANSFER LENGTH in bytes (VPD Block Limits): bounds per-command buffers.</summary>
    public const int DefaultMaximumTransferBytes = 8 * 1024 * 1024;

    private readonly string _serialNumber;

    /// <param name="lun">LUN number, 0 … 16383 (SAM-5 4.7).</param>
    /// <param name="volumeId">Volume UUID: source of the NAA designator (VPD 83h) and the unit serial number (VPD 80h).</param>
    /// <param name="store">The volume's blocks.</param>
    /// <param name="context">The LU context (reservations, unit attentions, mode pages …).</param>
    public LogicalUnit(int lun, Guid volumeId, IBlockStore store, ILuContext context)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lun);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lun, LunAddressing.MaxLun);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(context);
        if (store.BlockSize is not (512 or 1024 or 2048 or 4096))
            throw new ArgumentException($"unsupported block size {store.BlockSize}", nameof(store));
        Lun = lun;
        VolumeId = volumeId;
        Store = store;
        Context = context;
        _serialNumber = volumeId.ToString("N");
        BlockSize = store.BlockSize;
        MaximumTransferBlocks = DefaultMaximumTransferBytes / store.BlockSize;
        // A cluster context spreads the task set over the nodes: orders committed elsewhere reach this one.
        (context as IDistributedTaskSet)?.BindLocalTaskSet(AbortTasksAsync);
    }

    public int Lun { get; }

    public Guid VolumeId { get; }

    public IBlockStore Store { get; }

    public ILuContext Context { get; }

    /// <summary>INQUIRY PRODUCT IDENTIFICATION (16 ASCII characters at most).</summary>
    public string ProductIdentification { get; init; } = "Tessera volume";

    /// <summary>INQUIRY PRODUCT REVISION LEVEL (4 ASCII characters at most).</summary>
    public string ProductRevision { get; init; } = "0001";

    /// <summary>VPD 80h PRODUCT SERIAL NUMBER: the volume UUID as 32 hex digits.</summary>
    public string SerialNumber => _serialNumber;

    /// <summary>Largest READ/WRITE/VERIFY transfer in logical blocks (VPD B0h MAXIMUM TRANSFER LENGTH).</summary>
    public int MaximumTransferBlocks { get; init; }

    internal int BlockSize { get; }

    private readonly int _logicalBlocksPerPhysicalBlockExponent;

    /// <summary>
    /// Physical block length in bytes: the logical block length (default) or a power-of-two multiple of it,
    /// e.g. 4096 for a "512e" LU with 512-byte logical blocks. Reported as LOGICAL BLOCKS PER PHYSICAL BLOCK
    /// EXPONENT in READ CAPACITY (16) (SBC-4 5.21.2) and used for the Block Limits granularities.
    /// </summary>
    public int PhysicalBlockSize
    {
        get => BlockSize << _logicalBlocksPerPhysicalBlockExponent;
        init
        {
            // The exponent is a 4-bit field; the lowest aligned LBA is always 0.
            if (value < BlockSize || !int.IsPow2(value) || value / BlockSize > 1 << 15)
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    $"physical block size must be a power-of-two multiple of the {BlockSize}-byte block size, at most 2^15 blocks");
            _logicalBlocksPerPhysicalBlockExponent = System.Numerics.BitOperations.Log2((uint)(value / BlockSize));
        }
    }

    /// <summary>LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (SBC-4 5.21.2).</summary>
    internal int LogicalBlocksPerPhysicalBlockExponent => _logicalBlocksPerPhysicalBlockExponent;

    /// <summary>Logical blocks per physical block (1 unless the LU emulates small blocks on larger ones).</summary>
    internal int LogicalBlocksPerPhysicalBlock => 1 << _logicalBlocksPerPhysicalBlockExponent;

    internal ScsiTarget? Target { get; set; }

    internal TaskSet Tasks { get; } = new();

    /// <summary>The copy manager of this LU: EXTENDED COPY operations and their held results.</summary>
    internal CopyManager Copies { get; } = new();

    /// <summary>True when writes must fail with DATA PROTECT: read-only store or SWP set (SPC-5 7.5.10).</summary>
    internal bool IsWriteProtected(LuState state) => Store.IsReadOnly || state.CurrentMode.SoftwareWriteProtect;

    internal string TargetName => Target?.TargetName ?? "";

    /// <summary>
    /// Aborts this node's tasks of the LU that <paramref name="order"/> covers, waits until the running ones
    /// have ended and returns the I_T nexus keys that lost tasks — what an <see cref="IDistributedTaskSet"/>
    /// calls when an order committed through another node arrives.
    /// </summary>
    internal ValueTask<IReadOnlyCollection<string>> AbortTasksAsync(TaskAbortOrder order) => AbortTasksAsync(order, except: null);

    /// <summary>As <see cref="AbortTasksAsync(TaskAbortOrder)"/>, sparing <paramref name="except"/> (the command that gave the order).</summary>
    internal async ValueTask<IReadOnlyCollection<string>> AbortTasksAsync(TaskAbortOrder order, ScsiTask? except)
    {
        HashSet<string>? hit = null;
        List<Task>? running = null;
        foreach (var t in Tasks.Snapshot())
        {
            if (ReferenceEquals(t, except) || t.Nexus is not { } nexus || !order.Covers(nexus) || !Tasks.Abort(t)) continue;
            (hit ??= new HashSet<string>(StringComparer.Ordinal)).Add(nexus.Key);
            var done = t.Completion;
            if (!done.IsCompleted) (running ??= []).Add(done);
        }
        if (running is not null) await Task.WhenAll(running).ConfigureAwait(false);
        return hit is null ? [] : hit;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask ExecuteAsync(ScsiTask task)
    {
        Tasks.Add(task);
        try
        {
            if (!task.MarkStarted()) return;
            CommandDescriptor? command = null;
            try
            {
                task.Status = ScsiStatus.Good;
                task.DataInLength = 0;
                task.SetSenseLength(0);
                task.CommandTransferLength = 0;
                var state = Context.Current;
                command = CommandTable.Find(task.Cdb, out var lookup);
                if (state.IsQuiet)
                    await RunAsync(task, state, command, lookup).ConfigureAwait(false);
                else
                    await CheckConditionsThenRunAsync(task, state, command, lookup).ConfigureAwait(false);
            }
            catch (Exception e) when (!task.IsAborted)
            {
                Fail(task, command, e);
            }
        }
        finally
        {
            Tasks.Remove(task);
            task.MarkCompleted();
        }
    }

    private ValueTask RunAsync(ScsiTask task, LuState state, CommandDescriptor? command, CommandTable.LookupResult lookup)
    {
        if (command is null)
        {
            if (lookup == CommandTable.LookupResult.InvalidServiceAction)
                task.InvalidFieldInCdb(state, 1, 4); // SPC-5 4.2.5.x: unsupported SERVICE ACTION
            else
                task.CheckCondition(state, SenseKey.IllegalRequest, Asc.InvalidCommandOperationCode);
            return ValueTask.CompletedTask;
        }
        int field = command.FindInvalidField(task.Cdb, out int bit);
        if (field >= 0)
        {
            task.InvalidFieldInCdb(state, field, bit);
            return ValueTask.CompletedTask;
        }
        // SBC-4 4.x: every command that modifies the medium fails on a write-protected LU (read-only
        // volume or SWP), after the CDB itself was found valid.
        if ((command.Flags & CommandFlags.WritesMedium) != 0 && IsWriteProtected(state))
        {
            task.WriteProtected(state);
            return ValueTask.CompletedTask;
        }
        return command.Handler(this, task, state);
    }

    /// <summary>
    /// The slow path, taken only when some unit attention or reservation exists on the LU:
    /// SAM-5 5.14 unit attention reporting, then SPC-2 5.5.1 reservation conflicts.
    /// </summary>
    private async ValueTask CheckConditionsThenRunAsync(ScsiTask task, LuState state, CommandDescriptor? command, CommandTable.LookupResult lookup)
    {
        // SBC-4 4.11.2: a sanitize in progress (or failed) refuses commands before unit attentions are reported.
        if (state.Sanitize is not null && Sanitize.TryRefuse(this, task, state, command)) return;
        string key = task.Nexus.Key;
        // SPC-5 5.16.2.4.5: a port that cannot reach the LU (its node was fenced, or left) answers NOT READY
        // before anything else — a unit attention could not even be consumed there, as consuming it is a
        // context change — and reports no unit attention to the discovery commands it still serves.
        bool reachable = true;
        if (!state.Alua.AllActive
            && state.Alua.StateOf(task.Nexus.TargetPortGroupId) is AsymmetricAccessState.Unavailable or AsymmetricAccessState.Offline or AsymmetricAccessState.Transitioning)
        {
            if (AluaAccess.TryRefuse(task, state, command)) return;
            reachable = false;
        }
        if (reachable && (command is null || !command.IgnoresUnitAttention) && state.TryPeekUnitAttention(key, out _))
        {
            // Captured in this block only: a closure over `key` would be allocated on every slow-path command.
            string dequeueKey = key;
            var ua = await Context.ChangeAsync(s => LuStateChanges.Dequeue(s, dequeueKey)).ConfigureAwait(false);
            if (ua is { } reported)
            {
                task.CheckCondition(state, SenseKey.UnitAttention, (ushort)(reported.Asc << 8 | reported.Ascq));
                return;
            }
            state = Context.Current;
        }
        // SPC-5 5.16.2.4: a port whose target port group is not active refuses most commands.
        if (!state.Alua.AllActive && AluaAccess.TryRefuse(task, state, command)) return;
        if (command is not null && !command.AllowedUnderReservation
            && state.Scsi2Reservation is { } holder && holder != key)
        {
            task.ReservationConflict();
            return;
        }
        // SPC-5 5.14.3 / SBC-4 4.17: persistent reservation conflicts by command class.
        if (command is not null && state.PersistentReservations.Reservation is not null
            && PersistentReservationAccess.Conflicts(task.Cdb, state.PersistentReservations, task.Nexus))
        {
            task.ReservationConflict();
            return;
        }
        await RunAsync(task, state, command, lookup).ConfigureAwait(false);
    }

    private void Fail(ScsiTask task, CommandDescriptor? command, Exception e)
    {
        var state = Context.Current;
        bool writes = command is not null && (command.Flags & CommandFlags.WritesMedium) != 0;
        if (e is LuContextUnavailableException)
            task.CheckCondition(state, SenseKey.NotReady, Asc.AsymmetricAccessStateTransition);
        else if (e is IOException)
            task.CheckCondition(state, SenseKey.MediumError, writes ? Asc.WriteError : Asc.UnrecoveredReadError);
        else
            task.CheckCondition(state, SenseKey.HardwareError, Asc.InternalTargetFailure);
    }
}
