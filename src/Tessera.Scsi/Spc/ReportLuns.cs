using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.33 REPORT LUNS: the LU inventory of the target, from any LUN. It also clears the
/// REPORTED LUNS DATA HAS CHANGED unit attention of the requesting nexus on that LU.
/// </summary>
internal static class ReportLuns
{
    public static readonly CommandDescriptor Command = new(0xA0, -1, "REPORT LUNS",
        [0xA0, 0x00, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], ExecuteAsync,
        CommandFlags.IgnoresUnitAttention | CommandFlags.AllowedUnderReservation);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        if (lu.Target is not { } target) return;
        if (!Execute(target, task, state)) return;
        string key = task.Nexus.Key;
        if (state.UnitAttentions.ContainsKey(key))
            await lu.Context.ChangeAsync(s => (LuStateChanges.Clear(s, key, UnitAttention.ReportedLunsDataChanged), true)).ConfigureAwait(false);
    }

    /// <summary>Returns false when the CDB was rejected.</summary>
    public static bool Execute(ScsiTarget target, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        byte select = cdb[2];
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        // SELECT REPORT 00h/02h: every LU (Tessera has no well-known LUs); 01h, 10h-12h: well-known
        // or administrative LUs only, of which there are none.
        if (select is not (0x00 or 0x01 or 0x02 or 0x10 or 0x11 or 0x12))
        {
            task.InvalidFieldInCdb(state, 2);
            return false;
        }
        if (allocation < 16) // SPC-5 6.33: at least 16 bytes
        {
            task.InvalidFieldInCdb(state, 6);
            return false;
        }
        var luns = select is 0x00 or 0x02 ? target.Luns : [];
        var data = new byte[8 + 8 * luns.Count];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(8 * luns.Count));
        for (int i = 0; i < luns.Count; i++) LunAddressing.Write(data.AsSpan(8 + 8 * i), (int)luns[i]);
        task.ReturnData(data, (int)Math.Min(allocation, int.MaxValue));
        return true;
    }
}
