namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.27 START STOP UNIT on a fixed, shared volume. POWER CONDITION values of SBC-4 Table 109 are
/// accepted (the volume has no spindle and is always active; other hosts share it, so one host cannot
/// spin it down for everybody); others are INVALID FIELD IN CDB. START = 0 flushes cached writes unless
/// NO_FLUSH is set, as SBC-4 asks before stopping. LOEJ with START = 0 (eject) cannot apply to a
/// non-removable medium (RMB = 0) and is INVALID FIELD IN CDB; LOEJ with START = 1 (load) is a no-op.
/// </summary>
internal static class StartStopUnit
{
    // Byte 1: IMMED (0); byte 3: POWER CONDITION MODIFIER (3-0); byte 4: POWER CONDITION (7-4), NO_FLUSH (2), LOEJ (1), START (0).
    public static readonly CommandDescriptor Command = new(0x1B, -1, "START STOP UNIT",
        [0x1B, 0x01, 0x00, 0x0F, 0xF7, 0x00], ExecuteAsync);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int condition = cdb[4] >> 4;
        bool noFlush = (cdb[4] & 0x04) != 0, loej = (cdb[4] & 0x02) != 0, start = (cdb[4] & 0x01) != 0;
        switch (condition)
        {
            case 0x0: // START_VALID: START and LOEJ apply
                if (loej && !start) { task.InvalidFieldInCdb(state, 4, 1); return; }
                if (!start && !noFlush && !lu.Store.IsReadOnly) await lu.Store.FlushAsync().ConfigureAwait(false);
                return;
            case 0x1: // ACTIVE
            case 0x2: // IDLE
            case 0x3: // STANDBY
            case 0x7: // LU_CONTROL
            case 0xA: // FORCE_IDLE_0
            case 0xB: // FORCE_STANDBY_0
                // SBC-4 5.27: START and LOEJ are ignored with these; POWER CONDITION MODIFIER selects the
                // idle/standby flavour, which an always-active volume need not distinguish.
                return;
            default:
                task.InvalidFieldInCdb(state, 4, 7);
                return;
        }
    }
}
