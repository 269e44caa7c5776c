using System.Collections.Concurrent;

namespace Tessera.Scsi;

/// <summary>
/// The SCSI target device (SAM-5 4.6): the logical units under one target name. Transports hand
/// it tasks; the node adds and removes logical units as its volume catalog changes.
/// </summary>
public sealed class ScsiTarget : IScsiTarget
{
    private readonly Lock _unitsGate = new();
    private readonly ConcurrentDictionary<string, ItNexus> _nexuses = new(StringComparer.Ordinal);
    private volatile LogicalUnit?[] _units = [];
    private volatile IReadOnlyList<ulong> _luns = [];

    /// <param name="targetName">SCSI target name: the iSCSI name (IQN) of the target.</param>
    /// <param name="logicalUnits">Initial logical units; LUNs must be distinct.</param>
    public ScsiTarget(string targetName, IEnumerable<LogicalUnit> logicalUnits)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(targetName);
        ArgumentNullException.ThrowIfNull(logicalUnits);
        TargetName = targetName;
        foreach (var lu in logicalUnits) Attach(lu);
        Publish();
    }

    public string TargetName { get; }

    /// <summary>LUN numbers presented, ascending.</summary>
    public IReadOnlyList<ulong> Luns => _luns;

    /// <summary>The logical units presented, ascending LUN.</summary>
    public IReadOnlyList<LogicalUnit> LogicalUnits
    {
        get
        {
            var list = new List<LogicalUnit>();
            foreach (var lu in _units)
                if (lu is not null) list.Add(lu);
            return list;
        }
    }

    /// <summary>I_T nexuses currently attached.</summary>
    internal ICollection<ItNexus> Nexuses => _nexuses.Values;

    public LogicalUnit? GetLogicalUnit(int lun)
    {
        var units = _units;
        return (uint)lun < (uint)units.Length ? units[lun] : null;
    }

    /// <summary>
    /// Presents a new logical unit. Every attached I_T nexus sees POWER ON on it and REPORTED LUNS
    /// DATA HAS CHANGED on the others (SPC-5 6.33).
    /// </summary>
    public void AddLogicalUnit(LogicalUnit logicalUnit)
    {
        ArgumentNullException.ThrowIfNull(logicalUnit);
        lock (_unitsGate)
        {
            Attach(logicalUnit);
            foreach (var nexus in _nexuses.Values)
                Apply(logicalUnit.Context, s => LuStateChanges.AttachNexus(s, nexus.Key));
            Publish();
        }
        LunInventoryChanged(except: logicalUnit);
    }

    /// <summary>Stops presenting a LUN: its tasks are aborted and the other LUs report REPORTED LUNS DATA HAS CHANGED.</summary>
    public bool RemoveLogicalUnit(int lun)
    {
        LogicalUnit? removed;
        lock (_unitsGate)
        {
            removed = GetLogicalUnit(lun);
            if (removed is null) return false;
            var units = (LogicalUnit?[])_units.Clone();
            units[lun] = null;
            _units = units;
            removed.Target = null;
            Publish();
        }
        foreach (var t in removed.Tasks.Snapshot()) removed.Tasks.Abort(t);
        LunInventoryChanged(except: null);
        return true;
    }

    public void Register(ScsiTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (LunAddressing.TryDecode(task.Lun, out int lun)) GetLogicalUnit(lun)?.Tasks.Add(task);
    }

    public void Unregister(ScsiTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (LunAddressing.TryDecode(task.Lun, out int lun)) GetLogicalUnit(lun)?.Tasks.Remove(task);
    }

    public ValueTask ExecuteAsync(ScsiTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (LunAddressing.TryDecode(task.Lun, out int lun) && GetLogicalUnit(lun) is { } lu)
            return lu.ExecuteAsync(task);
        NoLogicalUnit.Execute(this, task);
        return ValueTask.CompletedTask;
    }

    public ValueTask<TaskManagementResponse> ManageAsync(ItNexus nexus, TaskManagementFunction function, ulong lun, uint referencedTag)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        return TaskManagement.ManageAsync(this, nexus, function, lun, referencedTag);
    }

    /// <summary>Synchronous form of <see cref="NexusAttachedAsync"/> (blocks while a cluster context commits).</summary>
    public void NexusAttached(ItNexus nexus) => Wait(NexusAttachedAsync(nexus));

    /// <summary>Synchronous form of <see cref="NexusLostAsync"/> (blocks while a cluster context commits).</summary>
    public void NexusLost(ItNexus nexus) => Wait(NexusLostAsync(nexus));

    public ValueTask NexusAttachedAsync(ItNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        _nexuses[nexus.Key] = nexus;
        string key = nexus.Key;
        return ApplyToAllAsync(lu => lu.Context.ChangeAsync(s => (LuStateChanges.AttachNexus(s, key), true)));
    }

    public ValueTask NexusLostAsync(ItNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        _nexuses.TryRemove(nexus.Key, out _);
        string key = nexus.Key;
        return ApplyToAllAsync(lu =>
        {
            foreach (var t in lu.Tasks.Snapshot(nexus)) lu.Tasks.Abort(t);
            lu.Copies.Forget(key);
            return lu.Context.ChangeAsync(s => (LuStateChanges.LoseNexus(s, key), true));
        });
    }

    /// <summary>
    /// Runs one context change per LU, all at once: with a cluster context each is a commit barrier, and
    /// the LUs' barriers need not queue behind each other. The local context completes synchronously,
    /// and then nothing is allocated beyond the closures.
    /// </summary>
    private ValueTask ApplyToAllAsync(Func<LogicalUnit, ValueTask<bool>> change)
    {
        List<Task>? pending = null;
        foreach (var lu in _units)
        {
            if (lu is null) continue;
            var done = change(lu);
            if (done.IsCompletedSuccessfully) continue;
            (pending ??= []).Add(done.AsTask());
        }
        return pending is null ? ValueTask.CompletedTask : new ValueTask(Task.WhenAll(pending));
    }

    private static void Wait(ValueTask pending)
    {
        if (pending.IsCompletedSuccessfully) return;
        pending.AsTask().GetAwaiter().GetResult();
    }

    private void Attach(LogicalUnit lu)
    {
        if (lu.Target is not null && lu.Target != this) throw new InvalidOperationException($"LUN {lu.Lun} belongs to another target");
        var units = _units;
        if (lu.Lun < units.Length && units[lu.Lun] is not null) throw new InvalidOperationException($"LUN {lu.Lun} already exists");
        var next = new LogicalUnit?[Math.Max(units.Length, lu.Lun + 1)];
        units.CopyTo(next, 0);
        next[lu.Lun] = lu;
        lu.Target = this;
        _units = next;
    }

    private void Publish()
    {
        var luns = new List<ulong>();
        foreach (var lu in _units)
            if (lu is not null) luns.Add((ulong)lu.Lun);
        _luns = luns.AsReadOnly();
    }

    private void LunInventoryChanged(LogicalUnit? except)
    {
        foreach (var lu in _units)
            if (lu is not null && lu != except)
                Apply(lu.Context, s => LuStateChanges.EstablishForAll(s, UnitAttention.ReportedLunsDataChanged));
    }

    /// <summary>
    /// Applies a context change from a synchronous transport callback. The local context completes
    /// synchronously; a distributed one is waited for so the change is in effect before the next command.
    /// </summary>
    internal static void Apply(ILuContext context, Func<LuState, LuState> change)
    {
        var pending = context.ChangeAsync(s => (change(s), true));
        if (!pending.IsCompletedSuccessfully) pending.AsTask().GetAwaiter().GetResult();
    }
}
