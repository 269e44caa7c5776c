using System.Buffers;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.48/5.50 WRITE SAME (10)/(16): one block of Data-Out written to every block of the range.
/// With UNMAP = 1 the device server may, for each LBA, perform an unmap operation instead of the write
/// (SBC-4 5.48, 4.7.3.4); Tessera always does, so the range is deallocated and reads zeros (LBPRZ)
/// whatever the Data-Out block held — as libiscsi's WriteSame10.UnmapUntilEnd (which sends 0xFF blocks)
/// and Linux LIO expect. NDOB (16 only) means "no Data-Out, zeros".
/// NUMBER OF LOGICAL BLOCKS = 0 means "to the last LBA" (WSNZ = 0), bounded by MAXIMUM WRITE SAME LENGTH.
/// ANCHOR is refused (no anchored state, ANC_SUP = 0).
/// </summary>
internal static class WriteSame
{
    // Byte 1: WRPROTECT (7-5) must be zero, ANCHOR (4), UNMAP (3); PBDATA/LBDATA (2-1, obsolete) are not
    // supported; NDOB (bit 0) for the 16-byte CDB only.
    public static readonly CommandDescriptor WriteSame10 = new(0x41, -1, "WRITE SAME(10)",
        [0x41, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    public static readonly CommandDescriptor WriteSame16 = new(0x93, -1, "WRITE SAME(16)",
        [0x93, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    /// <summary>Pattern buffers are filled and written in pieces of at most this many bytes.</summary>
    private const int ChunkBytes = 1 << 20;

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool anchor = (cdb[1] & 0x10) != 0, unmap = (cdb[1] & 0x08) != 0, ndob = cdb.Length == 16 && (cdb[1] & 0x01) != 0;
        // SBC-4 5.50: ANCHOR without UNMAP is invalid; ANCHOR with UNMAP needs ANC_SUP, which is 0.
        if (anchor) { task.InvalidFieldInCdb(state, 1, 4); return; }
        int lengthField = BlockCdb.Decode(cdb, out ulong lba, out uint blocks);
        ulong capacity = (ulong)lu.Store.BlockCount;
        if (lba > capacity) { task.LbaOutOfRange(state); return; }
        ulong count = blocks == 0 ? capacity - lba : blocks;
        if (count > capacity - lba) { task.LbaOutOfRange(state); return; }
        if (count > (ulong)BlockLimitsFields.MaximumWriteSameBlocks(lu)) { task.InvalidFieldInCdb(state, lengthField); return; }
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }

        int bs = lu.BlockSize;
        // Exactly one block of Data-Out (none with NDOB); anything else is a mismatch between the CDB
        // and the transfer the initiator set up (FCP-4 9.4.2: INVALID FIELD IN COMMAND INFORMATION UNIT).
        int expected = ndob ? 0 : bs;
        task.CommandTransferLength = expected;
        if (task.DataOut.Length != expected)
        {
            task.CheckCondition(state, SenseKey.IllegalRequest, Asc.InvalidFieldInCommandInformationUnit);
            return;
        }
        if (count == 0) return;
        if (unmap)
        {
            await lu.Store.UnmapAsync((long)lba, (long)count).ConfigureAwait(false);
            return;
        }
        var flags = state.CurrentMode.WriteCacheEnabled ? WriteFlags.None : WriteFlags.Fua;
        await WritePatternAsync(lu, (long)lba, (long)count, ndob ? default : task.DataOut[..bs], flags).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="block"/> (zeros when empty) to <paramref name="count"/> blocks from <paramref name="lba"/>.</summary>
    internal static async ValueTask WritePatternAsync(LogicalUnit lu, long lba, long count, ReadOnlyMemory<byte> block, WriteFlags flags)
    {
        int bs = lu.BlockSize;
        int chunkBlocks = (int)Math.Min(count, Math.Max(1, ChunkBytes / bs));
        var buffer = ArrayPool<byte>.Shared.Rent(chunkBlocks * bs);
        try
        {
            var pattern = buffer.AsMemory(0, chunkBlocks * bs);
            if (block.IsEmpty) pattern.Span.Clear();
            else for (int i = 0; i < chunkBlocks; i++) block.Span.CopyTo(pattern.Span[(i * bs)..]);
            for (long done = 0; done < count;)
            {
                int n = (int)Math.Min(chunkBlocks, count - done);
                await lu.Store.WriteAsync(lba + done, pattern[..(n * bs)], flags).ConfigureAwait(false);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
