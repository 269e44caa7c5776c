using System.Buffers.Binary;
using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.11 MODE SELECT (6) and 6.12 MODE SELECT (10). The parameter list is validated completely
/// before anything changes: a field that is not changeable must carry its current value, and the
/// error points at the offending byte and bit (SPC-5 4.4.2.4.2). Changes apply in one context change;
/// other I_T nexuses get MODE PARAMETERS CHANGED; SP = 1 also saves them.
/// </summary>
internal static class ModeSelect
{
    public static readonly CommandDescriptor ModeSelect6 = new(0x15, -1, "MODE SELECT(6)",
        [0x15, 0x11, 0x00, 0x00, 0xFF, 0x00], ExecuteAsync);

    public static readonly CommandDescriptor ModeSelect10 = new(0x55, -1, "MODE SELECT(10)",
        [0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], ExecuteAsync);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var pages = Parse(lu, task, state, out bool save);
        if (pages is null) return;
        string requester = task.Nexus.Key;
        await lu.Context.ChangeAsync(s => (Apply(s, pages, save, requester), true)).ConfigureAwait(false);
    }

    /// <summary>Validates the CDB and parameter list; returns the new page images or null after failing the task.</summary>
    internal static List<ImmutableArray<byte>>? Parse(LogicalUnit lu, ScsiTask task, LuState state, out bool save)
    {
        var cdb = task.Cdb;
        bool six = cdb[0] == 0x15;
        bool pf = (cdb[1] & 0x10) != 0;
        save = (cdb[1] & 0x01) != 0;
        int length = six ? cdb[4] : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        if (length == 0) return []; // SPC-5: nothing to transfer is not an error
        // PF = 0 would mean vendor-specific page formats; Tessera only has the standard ones.
        if (!pf) { task.InvalidFieldInCdb(state, 1, 4); return null; }
        if (!ReadWrite.HasDataOut(task, state, length)) return null;
        var d = task.DataOut.Span[..length];

        int header = six ? 4 : 8;
        if (length < header) { ParameterListLengthError(task, state); return null; }
        // MODE DATA LENGTH is reserved in MODE SELECT and ignored; MEDIUM TYPE must be 00h.
        int medium = six ? 1 : 2;
        if (d[medium] != 0) { task.InvalidFieldInParameterList(state, medium); return null; }
        // DEVICE-SPECIFIC PARAMETER: WP and DPOFUA are ignored (SBC-4 6.5.1); the rest is reserved.
        int dsp = six ? 2 : 3;
        if ((d[dsp] & 0x6F) != 0) { task.InvalidFieldInParameterList(state, dsp, TaskResults.HighestBit(d[dsp] & 0x6F)); return null; }
        bool longLba = false;
        if (!six)
        {
            if ((d[4] & 0xFE) != 0 || d[5] != 0) { task.InvalidFieldInParameterList(state, d[5] != 0 ? 5 : 4); return null; }
            longLba = (d[4] & 0x01) != 0;
        }
        int bdl = six ? d[3] : BinaryPrimitives.ReadUInt16BigEndian(d[6..]);
        int bdlField = six ? 3 : 6;
        if (bdl != 0 && bdl != (longLba ? 16 : 8)) { task.InvalidFieldInParameterList(state, bdlField); return null; }
        if (header + bdl > length) { ParameterListLengthError(task, state); return null; }
        if (bdl > 0 && !CheckBlockDescriptor(lu, task, state, d.Slice(header, bdl), header, longLba)) return null;

        var result = new List<ImmutableArray<byte>>();
        int at = header + bdl;
        while (at < length)
        {
            if (length - at < 2) { ParameterListLengthError(task, state); return null; }
            byte code = (byte)(d[at] & 0x3F);
            if ((d[at] & 0x40) != 0) { task.InvalidFieldInParameterList(state, at, 6); return null; } // SPF: no subpages
            var def = ModePages.Find(code);
            if (def is null) { task.InvalidFieldInParameterList(state, at, 5); return null; }
            if (d[at + 1] != def.Length - 2) { task.InvalidFieldInParameterList(state, at + 1); return null; }
            if (length - at < def.Length) { ParameterListLengthError(task, state); return null; }
            var image = d.Slice(at, def.Length);
            var current = state.CurrentMode.Page(code);
            // PS (byte 0 bit 7) is reserved in MODE SELECT and ignored: hosts echo MODE SENSE data.
            for (int i = 2; i < def.Length; i++)
            {
                int bad = (image[i] ^ current[i]) & ~def.Changeable[i];
                if (bad != 0) { task.InvalidFieldInParameterList(state, at + i, TaskResults.HighestBit(bad)); return null; }
            }
            if (def.Validate?.Invoke(image) is int off and >= 0) { task.InvalidFieldInParameterList(state, at + off); return null; }
            var copy = image.ToArray();
            copy[0] = code;
            result.Add([.. copy]);
            at += def.Length;
        }
        return result;
    }

    // SBC-4 6.5.2: the capacity and block length cannot be changed; NUMBER OF LOGICAL BLOCKS = 0 means "unchanged".
    private static bool CheckBlockDescriptor(LogicalUnit lu, ScsiTask task, LuState state, ReadOnlySpan<byte> bd, int offset, bool longLba)
    {
        long blocks = lu.Store.BlockCount;
        if (longLba)
        {
            ulong n = BinaryPrimitives.ReadUInt64BigEndian(bd);
            if (n != 0 && n != (ulong)blocks) { task.InvalidFieldInParameterList(state, offset); return false; }
            for (int i = 8; i < 12; i++)
                if (bd[i] != 0) { task.InvalidFieldInParameterList(state, offset + i); return false; }
            if (BinaryPrimitives.ReadUInt32BigEndian(bd[12..]) != (uint)lu.BlockSize) { task.InvalidFieldInParameterList(state, offset + 12); return false; }
            return true;
        }
        uint shortCount = BinaryPrimitives.ReadUInt32BigEndian(bd);
        uint reported = blocks > 0xFFFF_FFFFL ? 0xFFFF_FFFFu : (uint)blocks;
        if (shortCount != 0 && shortCount != reported) { task.InvalidFieldInParameterList(state, offset); return false; }
        if (bd[4] != 0) { task.InvalidFieldInParameterList(state, offset + 4); return false; }
        int blockLength = bd[5] << 16 | bd[6] << 8 | bd[7];
        if (blockLength != lu.BlockSize) { task.InvalidFieldInParameterList(state, offset + 5); return false; }
        return true;
    }

    private static void ParameterListLengthError(ScsiTask task, LuState state) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.ParameterListLengthError);

    /// <summary>The pure change: new current pages, saved too with SP, MODE PARAMETERS CHANGED to the others (SPC-5 7.5.1).</summary>
    internal static LuState Apply(LuState s, List<ImmutableArray<byte>> pages, bool save, string requester)
    {
        var current = s.CurrentMode;
        foreach (var image in pages) current = current.WithPage(image[0], image);
        bool changed = !current.Equals(s.CurrentMode);
        s = s with { CurrentMode = current };
        if (save) s = s with { SavedMode = current };
        if (changed) s = LuStateChanges.EstablishForAll(s, UnitAttention.ModeParametersChanged, exceptKey: requester);
        return s;
    }
}
