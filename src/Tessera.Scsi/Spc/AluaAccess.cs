namespace Tessera.Scsi;

/// <summary>
/// SPC-5 5.16.2.4 what a command may do through a target port in each asymmetric access state. Every
/// path of a healthy Tessera cluster is active/optimized; a port whose node left the cluster (and was
/// fenced) is unavailable, and refuses everything but the commands an initiator needs to find a better
/// path. Checked on the slow path only: <see cref="LuState.IsQuiet"/> is false while any group is not active.
/// </summary>
internal static class AluaAccess
{
    internal const ushort NotAccessibleTransitioning = Asc.AsymmetricAccessStateTransition;
    internal const ushort NotAccessibleStandby = 0x040B;       // LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE
    internal const ushort NotAccessibleUnavailable = 0x040C;   // LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE

    /// <summary>
    /// Fails the task with NOT READY when the receiving port's group cannot process the command and
    /// returns true; returns false when the command may proceed.
    /// </summary>
    public static bool TryRefuse(ScsiTask task, LuState state, CommandDescriptor? command)
    {
        var access = state.Alua.StateOf(task.Nexus.TargetPortGroupId);
        if (access is AsymmetricAccessState.ActiveOptimized or AsymmetricAccessState.ActiveNonOptimized) return false;
        if (command is not null && Allowed(access, command)) return false;
        ushort asc = access switch
        {
            AsymmetricAccessState.Standby => NotAccessibleStandby,
            AsymmetricAccessState.Transitioning => NotAccessibleTransitioning,
            _ => NotAccessibleUnavailable, // unavailable, offline
        };
        task.CheckCondition(state, SenseKey.NotReady, asc);
        return true;
    }

    private static bool Allowed(AsymmetricAccessState access, CommandDescriptor c)
    {
        // SPC-5 5.16.2.4.5 (unavailable), 5.16.2.4.6 (offline), 5.16.2.5 (transitioning): identification
        // and path discovery only.
        bool discovery = c.Opcode switch
        {
            0x12 or 0xA0 or 0x03 => true,                              // INQUIRY, REPORT LUNS, REQUEST SENSE
            0xA3 => c.ServiceAction is 0x0A or 0x0C or 0x0D,          // RTPG, RSOC, RSTMF
            _ => false,
        };
        if (discovery) return true;
        if (access != AsymmetricAccessState.Standby) return false;
        // SPC-5 5.16.2.4.4 standby: also the commands that manage the LU rather than its medium.
        return c.Opcode is 0x1A or 0x5A or 0x15 or 0x55 // MODE SENSE/SELECT (6/10)
            or 0x4C or 0x4D                              // LOG SELECT/SENSE
            or 0x5E or 0x5F                              // PERSISTENT RESERVE IN/OUT
            or 0x1C or 0x1D                              // RECEIVE DIAGNOSTIC RESULTS, SEND DIAGNOSTIC
            or 0x3B or 0x3C;                             // WRITE/READ BUFFER
    }
}
