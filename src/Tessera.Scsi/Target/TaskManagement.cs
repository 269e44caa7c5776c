namespace Tessera.Scsi;

/// <summary>
/// SAM-5 7 task management functions. Aborted tasks are marked (the transport then sends no
/// response for them) and the function completes only after every aborted task that was executing
/// has finished, so no response of an aborted task can follow the TMF response.
/// </summary>
internal static class TaskManagement
{
    public static async ValueTask<TaskManagementResponse> ManageAsync(ScsiTarget target, ItNexus nexus, TaskManagementFunction function, ulong lunField, uint referencedTag)
    {
        switch (function)
        {
            case TaskManagementFunction.TargetWarmReset:
                await ResetTargetAsync(target, UnitAttention.TargetReset, powerOn: false).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.TargetColdReset:
                await ResetTargetAsync(target, UnitAttention.PowerOnOccurred, powerOn: true).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.ClearAca:
                return TaskManagementResponse.FunctionNotSupported; // NormACA = 0 (INQUIRY)
            case TaskManagementFunction.TaskReassign:
                return TaskManagementResponse.TaskAllegianceReassignmentNotSupported;
        }

        if (!LunAddressing.TryDecode(lunField, out int lun) || target.GetLogicalUnit(lun) is not { } lu)
            return TaskManagementResponse.LunDoesNotExist;

        switch (function)
        {
            case TaskManagementFunction.AbortTask:
            {
                var task = lu.Tasks.Find(nexus, referencedTag);
                if (task is null) return TaskManagementResponse.TaskDoesNotExist;
                await AbortAsync(lu.Tasks, [task]).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            }
            case TaskManagementFunction.AbortTaskSet:
                // SAM-5 7.3: only the requesting nexus' tasks; no unit attention.
                await AbortAsync(lu.Tasks, lu.Tasks.Snapshot(nexus)).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.ClearTaskSet:
                await ClearTaskSetAsync(lu, nexus).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.LogicalUnitReset:
                await ResetLogicalUnitAsync(lu, UnitAttention.LogicalUnitReset, powerOn: false).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            default:
                return TaskManagementResponse.FunctionNotSupported;
        }
    }

    /// <summary>
    /// SAM-5 7.4 CLEAR TASK SET: every task on the LU is aborted; with TAS=0 the other I_T nexuses
    /// that lost tasks get COMMANDS CLEARED BY ANOTHER INITIATOR (SPC-5 7.5.10).
    /// </summary>
    private static async Task ClearTaskSetAsync(LogicalUnit lu, ItNexus requester)
    {
        var tasks = lu.Tasks.Snapshot();
        await AbortAsync(lu.Tasks, tasks).ConfigureAwait(false);
        var others = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tasks)
            if (t.Nexus is { } n && !n.Equals(requester)) others.Add(n.Key);
        if (others.Count == 0) return;
        await lu.Context.ChangeAsync(s =>
        {
            if (s.CurrentMode.TaskAbortedStatus) return (s, true);
            foreach (var key in others)
                if (s.Nexuses.Contains(key)) s = LuStateChanges.Enqueue(s, key, UnitAttention.CommandsClearedByAnotherInitiator);
            return (s, true);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// SAM-5 7.7 LOGICAL UNIT RESET: abort every task, release the SCSI-2 reservation, restore saved
    /// mode pages and tell every nexus (29h/03h). Persistent reservations survive; a power-on (cold
    /// reset) drops them unless APTPL is set (SPC-5 5.14.5).
    /// </summary>
    private static async Task ResetLogicalUnitAsync(LogicalUnit lu, UnitAttention ua, bool powerOn)
    {
        await AbortAsync(lu.Tasks, lu.Tasks.Snapshot()).ConfigureAwait(false);
        await lu.Context.ChangeAsync(s =>
        {
            s = LuStateChanges.Reset(s, ua);
            if (powerOn) s = PersistentReservationChanges.PowerOn(s);
            return (s, true);
        }).ConfigureAwait(false);
    }

    /// <summary>SAM-5 7.x TARGET WARM/COLD RESET: a logical unit reset of every LU with the target's condition.</summary>
    private static async Task ResetTargetAsync(ScsiTarget target, UnitAttention ua, bool powerOn)
    {
        var resets = new List<Task>();
        foreach (var lu in target.LogicalUnits) resets.Add(ResetLogicalUnitAsync(lu, ua, powerOn));
        await Task.WhenAll(resets).ConfigureAwait(false);
    }

    private static async Task AbortAsync(TaskSet set, List<ScsiTask> tasks)
    {
        List<Task>? running = null;
        foreach (var t in tasks)
        {
            set.Abort(t);
            var done = t.Completion;
            if (!done.IsCompleted) (running ??= []).Add(done);
        }
        if (running is not null) await Task.WhenAll(running).ConfigureAwait(false);
    }
}
