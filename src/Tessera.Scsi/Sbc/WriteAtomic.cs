using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.46 WRITE ATOMIC (16): the blocks are written as one atomic operation (SBC-4 4.29): no other
/// command ever sees or leaves a mix of old and new data in the range. Lengths and LBAs must be
/// multiples of ATOMIC TRANSFER LENGTH GRANULARITY and ATOMIC ALIGNMENT, at most MAXIMUM ATOMIC
/// TRANSFER LENGTH; no atomic boundary is supported (ATOMIC BOUNDARY must be zero).
/// </summary>
internal static class WriteAtomic
{
    // Byte 1: WRPROTECT (7-5) must be zero, DPO (4), FUA (3). Bytes 10-11: ATOMIC BOUNDARY, 12-13:
    // TRANSFER LENGTH, 14: GROUP NUMBER.
    public static readonly CommandDescriptor WriteAtomic16 = new(0x9C, -1, "WRITE ATOMIC(16)",
        [0x9C, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        ulong lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
        int boundary = BinaryPrimitives.ReadUInt16BigEndian(cdb[10..]);
        uint blocks = BinaryPrimitives.ReadUInt16BigEndian(cdb[12..]);
        if (boundary != 0) { task.InvalidFieldInCdb(state, 10); return; } // MAXIMUM ATOMIC BOUNDARY SIZE = 0
        if (blocks > (uint)BlockLimitsFields.MaximumAtomicBlocks(lu)) { task.InvalidFieldInCdb(state, 12); return; }
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, 12, limitTransfer: false)) return;
        int unit = BlockLimitsFields.AtomicUnitBlocks(lu);
        // SBC-4 5.46: misaligned LBA or a length that is not a multiple of the granularity.
        if (lba % (ulong)unit != 0) { task.InvalidFieldInCdb(state, 2); return; }
        if (blocks % (uint)unit != 0) { task.InvalidFieldInCdb(state, 12); return; }
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        int bytes = (int)blocks * lu.BlockSize;
        // An atomic write is all or nothing: a short Data-Out cannot be written partially.
        if (!ReadWrite.HasDataOut(task, state, bytes)) return;
        if (blocks == 0) return;
        await CompareAndWrite.ReplaceAtomicallyAsync(lu, (long)lba, (int)blocks, task.DataOut[..bytes],
            static (data, current, next) => data.CopyTo(next), ReadWrite.WriteFlagsOf(cdb, state)).ConfigureAwait(false);
    }
}
