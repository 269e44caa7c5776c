namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.24/5.25 SYNCHRONIZE CACHE (10)/(16): every completed write becomes durable. The store
/// flushes as a whole, so the range only gets its range check. IMMED is accepted and the flush still
/// finishes before status, which is what a host that asked for IMMED can rely on anyway.
/// </summary>
internal static class SynchronizeCache
{
    public static readonly CommandDescriptor SynchronizeCache10 = new(0x35, -1, "SYNCHRONIZE CACHE(10)",
        [0x35, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync);

    public static readonly CommandDescriptor SynchronizeCache16 = new(0x91, -1, "SYNCHRONIZE CACHE(16)",
        [0x91, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync);

    private static ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        int lengthField = BlockCdb.Decode(task.Cdb, out ulong lba, out uint blocks);
        // NUMBER OF LOGICAL BLOCKS = 0 means "to the last LBA".
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField, limitTransfer: false))
            return ValueTask.CompletedTask;
        return lu.Store.FlushAsync();
    }
}
