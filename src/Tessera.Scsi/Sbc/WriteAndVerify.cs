namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.39-5.41 WRITE AND VERIFY (10/12/16): the data is written durably (as with FUA, since it
/// is verified against the medium) and, with BYTCHK 01b, read back and compared.
/// </summary>
internal static class WriteAndVerify
{
    // Byte 1: WRPROTECT (7-5) must be zero, DPO (4) accepted, BYTCHK (2-1): 00b or 01b.
    public static readonly CommandDescriptor WriteAndVerify10 = new(0x2E, -1, "WRITE AND VERIFY(10)",
        [0x2E, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync, CommandFlags.WritesMedium);
    public static readonly CommandDescriptor WriteAndVerify12 = new(0xAE, -1, "WRITE AND VERIFY(12)",
        [0xAE, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);
    public static readonly CommandDescriptor WriteAndVerify16 = new(0x8E, -1, "WRITE AND VERIFY(16)",
        [0x8E, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    public static readonly CommandDescriptor[] Commands = [WriteAndVerify10, WriteAndVerify12, WriteAndVerify16];

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int bytchk = (cdb[1] >> 1) & 0x03;
        if (bytchk > 0b01) { task.InvalidFieldInCdb(state, 1, 2); return; }
        int lengthField = BlockCdb.Decode(cdb, out ulong lba, out uint blocks);
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField)) return;
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        int written = await ReadWrite.WriteDataOutAsync(lu, task, (long)lba, blocks, WriteFlags.Fua).ConfigureAwait(false);
        // Only whole blocks that arrived are compared (a residual overflow leaves the rest unwritten).
        uint compared = (uint)(written / lu.BlockSize);
        if (bytchk == 0b01 && compared > 0)
        {
            var data = task.DataOut[..(int)(compared * lu.BlockSize)];
            long miscompare = await Verify.CompareAsync(lu, (long)lba, compared, data, repeat: false).ConfigureAwait(false);
            if (miscompare >= 0) Verify.Miscompare(task, state, miscompare);
        }
    }
}
