using System.Buffers;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.9/5.10 PRE-FETCH (10)/(16): asks for the range to be brought into the cache. The data is read
/// through the store (which warms the node's page cache) up to MAXIMUM PREFETCH LENGTH. The status is GOOD,
/// never CONDITION MET: the page cache belongs to the node, not to the device server, so there is no
/// guarantee the blocks stay there (SBC-4 5.10: CONDITION MET only if they will all fit and stay; libiscsi
/// expects GOOD). With IMMED the command returns at once and the read is skipped — it is only a hint.
/// </summary>
internal static class PreFetch
{
    // Byte 1: IMMED (bit 1); GROUP NUMBER accepted.
    public static readonly CommandDescriptor PreFetch10 = new(0x34, -1, "PRE-FETCH(10)",
        [0x34, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync);

    public static readonly CommandDescriptor PreFetch16 = new(0x90, -1, "PRE-FETCH(16)",
        [0x90, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int lengthField = BlockCdb.Decode(cdb, out ulong lba, out uint blocks);
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField, limitTransfer: false)) return;
        bool immediate = (cdb[1] & 0x02) != 0;
        if (immediate || blocks == 0) return;
        long count = Math.Min(blocks, BlockLimitsFields.MaximumPrefetchBlocks(lu));
        int bs = lu.BlockSize;
        int chunk = (int)Math.Min(count, Math.Max(1, (1 << 20) / bs));
        var buffer = ArrayPool<byte>.Shared.Rent(chunk * bs);
        try
        {
            for (long done = 0; done < count;)
            {
                int n = (int)Math.Min(chunk, count - done);
                await lu.Store.ReadAsync((long)lba + done, buffer.AsMemory(0, n * bs)).ConfigureAwait(false);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
