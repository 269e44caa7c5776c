using System.Buffers;
using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.3 COMPARE AND WRITE: the Data-Out buffer holds NUMBER OF LOGICAL BLOCKS blocks of verify
/// data followed by as many blocks of write data; the store compares and writes as one operation,
/// atomic against every other command on those blocks (<see cref="IBlockStore.CompareAndWriteAsync"/>).
/// A difference ends with MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION and the offset of the first
/// differing byte in INFORMATION; nothing is written then.
/// </summary>
internal static class CompareAndWrite
{
    // Byte 1: WRPROTECT (7-5) must be zero, DPO (4), FUA (3); FUA_NV (1) is obsolete. Byte 13: NUMBER OF
    // LOGICAL BLOCKS; byte 14: GROUP NUMBER.
    public static readonly CommandDescriptor Command = new(0x89, -1, "COMPARE AND WRITE",
        [0x89, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        ulong lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
        int blocks = cdb[13];
        // SBC-4 5.3: more blocks than MAXIMUM COMPARE AND WRITE LENGTH is INVALID FIELD IN CDB.
        if (blocks > BlockLimitsFields.MaximumCompareAndWriteBlocks(lu)) { task.InvalidFieldInCdb(state, 13); return; }
        if (!BlockCdb.CheckRange(lu, task, state, lba, (uint)blocks, 13, limitTransfer: false)) return;
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        int bytes = blocks * lu.BlockSize;
        // The Data-Out buffer must be exactly verify + write data. When the initiator sent another amount the
        // NUMBER OF LOGICAL BLOCKS field does not describe the transfer: INVALID FIELD IN CDB pointing at it
        // (libiscsi sends 2 × 256 blocks with the count wrapped to 0 and expects that sense).
        task.CommandTransferLength = 2 * bytes;
        if (task.DataOut.Length != 2 * bytes) { task.InvalidFieldInCdb(state, 13); return; }
        if (blocks == 0) return; // SBC-4 5.3: zero blocks is not an error
        var compare = task.DataOut[..bytes];
        var write = task.DataOut[bytes..(2 * bytes)];
        int miscompare = await lu.Store.CompareAndWriteAsync((long)lba, compare, write, ReadWrite.WriteFlagsOf(cdb, state)).ConfigureAwait(false);
        if (miscompare >= 0) Verify.Miscompare(task, state, miscompare);
    }

    /// <summary>
    /// Replaces <paramref name="blocks"/> blocks at <paramref name="lba"/> with <c>update(current)</c> as one
    /// atomic step: the current content is read and then swapped in with COMPARE AND WRITE, retried when
    /// another command changed the blocks in between. ORWRITE and WRITE ATOMIC use it, so every store that
    /// implements an atomic compare-and-write gives them atomicity too.
    /// </summary>
    internal static async ValueTask ReplaceAtomicallyAsync<TState>(LogicalUnit lu, long lba, int blocks, TState argument,
        Action<TState, ReadOnlyMemory<byte>, Memory<byte>> update, WriteFlags flags)
    {
        int bytes = blocks * lu.BlockSize;
        var current = ArrayPool<byte>.Shared.Rent(bytes);
        var next = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                await lu.Store.ReadAsync(lba, current.AsMemory(0, bytes)).ConfigureAwait(false);
                update(argument, current.AsMemory(0, bytes), next.AsMemory(0, bytes));
                int miscompare = await lu.Store.CompareAndWriteAsync(lba, current.AsMemory(0, bytes), next.AsMemory(0, bytes), flags).ConfigureAwait(false);
                if (miscompare < 0) return;
                // Another writer got in between the read and the swap; a livelock here would need a writer
                // that changes these blocks faster than one read, so bound it and report a target failure.
                if (attempt >= 10_000) throw new InvalidOperationException($"atomic update of LBA {lba} kept losing to concurrent writes");
                if (attempt >= 8) await Task.Yield();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }
}
