namespace Tessera.Scsi;

/// <summary>
/// SAM-5 7 task management functions. Aborted tasks are marked (the transport then sends no
/// response for them) and the function completes only after every aborted task that was executing
/// has finished, so no response of an aborted task can follow the TMF response. On an LU whose
/// context is an <see cref="IDistributedTaskSet"/> the functions that reach beyond the requesting
/// I_T nexus (CLEAR TASK SET, LOGICAL UNIT RESET, target resets) abort the tasks on every node; ABORT
/// TASK and ABORT TASK SET stay local, as an I_T nexus lives on one node.
/// </summary>
internal static class TaskManagement
{
    public static async ValueTask<TaskManagementResponse> ManageAsync(ScsiTarget target, ItNexus nexus, TaskManagementFunction function, ulong lunField, uint referencedTag)
    {
        try
        {
            return await PerformAsync(target, nexus, function, lunField, referencedTag).ConfigureAwait(false);
        }
        catch (LuContextUnavailableException)
        {
            // The context change the function implies could not be committed (or confirmed) cluster-wide:
            // RFC 7143 11.6.1 "Function rejected"; the initiator escalates or retries on another path.
            return TaskManagementResponse.FunctionRejected;
        }
    }

    private static async ValueTask<TaskManagementResponse> PerformAsync(ScsiTarget target, ItNexus nexus, TaskManagementFunction function, ulong lunField, uint referencedTag)
    {
        switch (function)
        {
            case TaskManagementFunction.TargetWarmReset:
                await ResetTargetAsync(target, nexus, UnitAttention.TargetReset, powerOn: false).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.TargetColdReset:
                await ResetTargetAsync(target, nexus, UnitAttention.PowerOnOccurred, powerOn: true).ConfigureAwait(false);
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
                if (task is null || !lu.Tasks.Abort(task)) return TaskManagementResponse.TaskDoesNotExist;
                await task.Completion.ConfigureAwait(false);
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
                await ResetLogicalUnitAsync(lu, nexus, UnitAttention.LogicalUnitReset, powerOn: false).ConfigureAwait(false);
                return TaskManagementResponse.FunctionComplete;
            default:
                return TaskManagementResponse.FunctionNotSupported;
        }
    }

    /// <summary>
    /// SAM-5 7.4 CLEAR TASK SET: every task on the LU is aborted — on every node — and with TAS=0 the
    /// other I_T nexuses that lost tasks get COMMANDS CLEARED BY ANOTHER INITIATOR (SPC-5 7.5.10).
    /// </summary>
    private static async Task ClearTaskSetAsync(LogicalUnit lu, ItNexus requester)
    {
        var order = new TaskAbortOrder(TaskAbortScope.AllTasks, requester.Key);
        var others = new HashSet<string>(await lu.AbortTasksAsync(order).ConfigureAwait(false), StringComparer.Ordinal);
        if (lu.Context is IDistributedTaskSet cluster)
        {
            var (_, remote) = await cluster.ChangeAndAbortAsync(s => (s, true), _ => order).ConfigureAwait(false);
            others.UnionWith(remote);
        }
        others.Remove(requester.Key);
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
    /// SAM-5 7.7 LOGICAL UNIT RESET: abort every task (on every node), release the SCSI-2 reservation,
    /// restore saved mode pages and tell every nexus (29h/03h). Persistent reservations survive; a power-on
    /// (cold reset) drops them unless APTPL is set (SPC-5 5.14.5).
    /// </summary>
    private static async Task ResetLogicalUnitAsync(LogicalUnit lu, ItNexus requester, UnitAttention ua, bool powerOn)
    {
        var order = new TaskAbortOrder(TaskAbortScope.AllTasks, requester.Key);
        await lu.AbortTasksAsync(order).ConfigureAwait(false);
        if (lu.Context is IDistributedTaskSet cluster)
            await cluster.ChangeAndAbortAsync(s => (Reset(s, ua, powerOn), true), _ => order).ConfigureAwait(false);
        else
            await lu.Context.ChangeAsync(s => (Reset(s, ua, powerOn), true)).ConfigureAwait(false);
    }

    private static LuState Reset(LuState s, UnitAttention ua, bool powerOn)
    {
        s = LuStateChanges.Reset(s, ua);
        return powerOn ? PersistentReservationChanges.PowerOn(s) : s;
    }

    /// <summary>SAM-5 7.x TARGET WARM/COLD RESET: a logical unit reset of every LU with the target's condition.</summary>
    private static async Task ResetTargetAsync(ScsiTarget target, ItNexus requester, UnitAttention ua, bool powerOn)
    {
        var resets = new List<Task>();
        foreach (var lu in target.LogicalUnits) resets.Add(ResetLogicalUnitAsync(lu, requester, ua, powerOn));
        await Task.WhenAll(resets).ConfigureAwait(false);
    }

    private static async Task AbortAsync(TaskSet set, List<ScsiTask> tasks)
    {
        List<Task>? running = null;
        foreach (var t in tasks)
        {
            if (!set.Abort(t)) continue;
            var done = t.Completion;
            if (!done.IsCompleted) (running ??= []).Add(done);
        }
        if (running is not null) await Task.WhenAll(running).ConfigureAwait(false);
    }
}
