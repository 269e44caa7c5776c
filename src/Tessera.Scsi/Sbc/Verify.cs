using System.Buffers;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.29-5.31 VERIFY (10/12/16). BYTCHK 00b verifies the medium (the blocks are read),
/// 01b compares the Data-Out buffer with the medium, 11b compares one block of Data-Out with every
/// block of the range; 10b is reserved. A difference ends with MISCOMPARE, MISCOMPARE DURING
/// VERIFY OPERATION and the offset of the first differing byte in INFORMATION.
/// </summary>
internal static class Verify
{
    // Byte 1: VRPROTECT (7-5) must be zero, DPO (4) accepted, BYTCHK (2-1).
    public static readonly CommandDescriptor Verify10 = new(0x2F, -1, "VERIFY(10)",
        [0x2F, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync);
    public static readonly CommandDescriptor Verify12 = new(0xAF, -1, "VERIFY(12)",
        [0xAF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync);
    public static readonly CommandDescriptor Verify16 = new(0x8F, -1, "VERIFY(16)",
        [0x8F, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync);

    public static readonly CommandDescriptor[] Commands = [Verify10, Verify12, Verify16];

    /// <summary>Medium is read in pieces of at most this many bytes.</summary>
    private const int ChunkBytes = 1 << 20;

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int bytchk = (cdb[1] >> 1) & 0x03;
        if (bytchk == 0b10) { task.InvalidFieldInCdb(state, 1, 2); return; }
        int lengthField = BlockCdb.Decode(cdb, out ulong lba, out uint blocks);
        // Only a transfer is bounded by MAXIMUM TRANSFER LENGTH; BYTCHK 00b/11b move at most one block.
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField, limitTransfer: bytchk == 0b01)) return;
        if (blocks == 0) return;
        int bs = lu.BlockSize;
        switch (bytchk)
        {
            case 0b00:
                await CompareAsync(lu, (long)lba, blocks, default, repeat: false).ConfigureAwait(false);
                return;
            case 0b01:
            {
                int bytes = (int)blocks * bs;
                if (!ReadWrite.HasDataOut(task, state, bytes)) return;
                long miscompare = await CompareAsync(lu, (long)lba, blocks, task.DataOut[..bytes], repeat: false).ConfigureAwait(false);
                if (miscompare >= 0) Miscompare(task, state, miscompare);
                return;
            }
            default:
            {
                if (!ReadWrite.HasDataOut(task, state, bs)) return;
                long miscompare = await CompareAsync(lu, (long)lba, blocks, task.DataOut[..bs], repeat: true).ConfigureAwait(false);
                if (miscompare >= 0) Miscompare(task, state, miscompare);
                return;
            }
        }
    }

    internal static void Miscompare(ScsiTask task, LuState state, long offset) =>
        task.CheckCondition(state, SenseKey.Miscompare, Asc.MiscompareDuringVerifyOperation, information: offset);

    /// <summary>
    /// Reads <paramref name="blocks"/> blocks from <paramref name="lba"/> and compares them with
    /// <paramref name="expected"/> (the whole range, or one block repeated). Returns the byte offset of
    /// the first difference from the start of the range, or -1. With empty <paramref name="expected"/>
    /// the blocks are only read.
    /// </summary>
    internal static async ValueTask<long> CompareAsync(LogicalUnit lu, long lba, uint blocks, ReadOnlyMemory<byte> expected, bool repeat)
    {
        int bs = lu.BlockSize;
        int chunkBlocks = Math.Max(1, ChunkBytes / bs);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(blocks, (uint)chunkBlocks) * bs);
        try
        {
            long done = 0;
            while (done < blocks)
            {
                int n = (int)Math.Min(blocks - done, chunkBlocks);
                var medium = buffer.AsMemory(0, n * bs);
                await lu.Store.ReadAsync(lba + done, medium).ConfigureAwait(false);
                if (!expected.IsEmpty)
                {
                    long at = FirstDifference(medium.Span, expected.Span, done * bs, repeat, bs);
                    if (at >= 0) return done * bs + at;
                }
                done += n;
            }
            return -1;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static long FirstDifference(ReadOnlySpan<byte> medium, ReadOnlySpan<byte> expected, long rangeOffset, bool repeat, int bs)
    {
        if (!repeat)
        {
            var want = expected.Slice((int)rangeOffset, medium.Length);
            int i = medium.CommonPrefixLength(want);
            return i == medium.Length ? -1 : i;
        }
        for (int b = 0; b < medium.Length; b += bs)
        {
            int i = medium.Slice(b, bs).CommonPrefixLength(expected);
            if (i < bs) return b + i;
        }
        return -1;
    }
}
