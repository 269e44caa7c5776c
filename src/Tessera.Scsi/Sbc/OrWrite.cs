using System.Numerics;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.12 ORWRITE (16): each block becomes the bitwise OR of its current content and the Data-Out
/// block. The read, the OR and the write are one atomic step against every other command on the range
/// (hosts use ORWRITE for shared bitmaps), built on the store's compare-and-write.
/// </summary>
internal static class OrWrite
{
    // Byte 1: ORPROTECT (7-5) must be zero, DPO (4), FUA (3); FUA_NV (1) is obsolete. Byte 14: GROUP NUMBER.
    public static readonly CommandDescriptor OrWrite16 = new(0x8B, -1, "ORWRITE(16)",
        [0x8B, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int lengthField = BlockCdb.Decode(cdb, out ulong lba, out uint blocks);
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField)) return;
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        int bytes = (int)blocks * lu.BlockSize;
        if (!ReadWrite.HasDataOut(task, state, bytes)) return;
        if (blocks == 0) return;
        await CompareAndWrite.ReplaceAtomicallyAsync(lu, (long)lba, (int)blocks, task.DataOut[..bytes],
            static (data, current, next) => Or(current.Span, data.Span, next.Span), ReadWrite.WriteFlagsOf(cdb, state)).ConfigureAwait(false);
    }

    private static void Or(ReadOnlySpan<byte> current, ReadOnlySpan<byte> data, Span<byte> next)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= current.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                (new Vector<byte>(current[i..]) | new Vector<byte>(data[i..])).CopyTo(next[i..]);
        }
        for (; i < current.Length; i++) next[i] = (byte)(current[i] | data[i]);
    }
}
