using System.Buffers;
using System.Runtime.CompilerServices;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.13-5.16 READ (6/10/12/16) and 5.35-5.38 WRITE (6/10/12/16): the I/O path. No allocation
/// per command: the CDB is decoded from the task's span, data moves straight between the
/// transport's buffers and the store, and async state machines are pooled.
/// </summary>
internal static class ReadWrite
{
    // Byte 1: RDPROTECT/WRPROTECT (7-5) must be zero (no protection information), DPO (4) and FUA (3)
    // are honoured; RARC and the obsolete FUA_NV are not supported. GROUP NUMBER is accepted.
    public static readonly CommandDescriptor Read6 = new(0x08, -1, "READ(6)",
        [0x08, 0x1F, 0xFF, 0xFF, 0xFF, 0x00], ReadAsync);
    public static readonly CommandDescriptor Read10 = new(0x28, -1, "READ(10)",
        [0x28, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], ReadAsync);
    public static readonly CommandDescriptor Read12 = new(0xA8, -1, "READ(12)",
        [0xA8, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ReadAsync);
    public static readonly CommandDescriptor Read16 = new(0x88, -1, "READ(16)",
        [0x88, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], ReadAsync);

    public static readonly CommandDescriptor Write6 = new(0x0A, -1, "WRITE(6)",
        [0x0A, 0x1F, 0xFF, 0xFF, 0xFF, 0x00], WriteAsync, CommandFlags.WritesMedium);
    public static readonly CommandDescriptor Write10 = new(0x2A, -1, "WRITE(10)",
        [0x2A, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00], WriteAsync, CommandFlags.WritesMedium);
    public static readonly CommandDescriptor Write12 = new(0xAA, -1, "WRITE(12)",
        [0xAA, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], WriteAsync, CommandFlags.WritesMedium);
    public static readonly CommandDescriptor Write16 = new(0x8A, -1, "WRITE(16)",
        [0x8A, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0x00], WriteAsync, CommandFlags.WritesMedium);

    public static readonly CommandDescriptor[] Commands = [Read6, Read10, Read12, Read16, Write6, Write10, Write12, Write16];

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask ReadAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        int lengthField = BlockCdb.Decode(task.Cdb, out ulong lba, out uint blocks);
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField)) return;
        int bs = lu.BlockSize;
        int bytes = (int)blocks * bs; // ≤ MaximumTransferBlocks × block size
        task.CommandTransferLength = bytes;
        // Residual overflow (EDTL < transfer length): transfer only what the initiator expects
        // (RFC 7143 11.4.5.1, libiscsi iSCSIResiduals).
        var destination = task.DataIn;
        int n = Math.Min(bytes, destination.Length);
        int whole = n - n % bs;
        if (whole > 0) await lu.Store.ReadAsync((long)lba, destination[..whole]).ConfigureAwait(false);
        if (n > whole) await ReadPartialBlockAsync(lu, (long)lba + whole / bs, destination[whole..n]).ConfigureAwait(false);
        task.DataInLength = n;
    }

    private static async ValueTask ReadPartialBlockAsync(LogicalUnit lu, long lba, Memory<byte> destination)
    {
        var block = ArrayPool<byte>.Shared.Rent(lu.BlockSize);
        try
        {
            await lu.Store.ReadAsync(lba, block.AsMemory(0, lu.BlockSize)).ConfigureAwait(false);
            block.AsSpan(0, destination.Length).CopyTo(destination.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask WriteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        int lengthField = BlockCdb.Decode(task.Cdb, out ulong lba, out uint blocks);
        if (!BlockCdb.CheckRange(lu, task, state, lba, blocks, lengthField)) return;
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        await WriteDataOutAsync(lu, task, (long)lba, blocks, WriteFlagsOf(task.Cdb, state)).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes the command's Data-Out to <paramref name="lba"/> and returns how many bytes were written.
    /// The CDB's transfer length is what the command transfers; when the initiator sent less
    /// (iSCSI EDTL &lt; transfer length, a residual overflow) only what arrived is written, a partial
    /// last block by read-modify-write, and the command otherwise completes normally (FCP-4 9.4.2 a),
    /// which libiscsi's iSCSIResiduals tests expect). Data beyond the transfer length is ignored.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal static async ValueTask<int> WriteDataOutAsync(LogicalUnit lu, ScsiTask task, long lba, uint blocks, WriteFlags flags)
    {
        int bs = lu.BlockSize;
        int bytes = (int)blocks * bs; // ≤ MaximumTransferBlocks × block size
        task.CommandTransferLength = bytes;
        var source = task.DataOut;
        int n = Math.Min(bytes, source.Length);
        int whole = n - n % bs;
        if (whole > 0) await lu.Store.WriteAsync(lba, source[..whole], flags).ConfigureAwait(false);
        if (n > whole) await WritePartialBlockAsync(lu, lba + whole / bs, source[whole..n], flags).ConfigureAwait(false);
        return n;
    }

    private static async ValueTask WritePartialBlockAsync(LogicalUnit lu, long lba, ReadOnlyMemory<byte> head, WriteFlags flags)
    {
        var block = ArrayPool<byte>.Shared.Rent(lu.BlockSize);
        try
        {
            var buffer = block.AsMemory(0, lu.BlockSize);
            await lu.Store.ReadAsync(lba, buffer).ConfigureAwait(false);
            head.CopyTo(buffer);
            await lu.Store.WriteAsync(lba, buffer, flags).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>
    /// For parameter data and compare data: records the Data-Out length the CDB implies and checks the
    /// initiator sent that much; with less the command fails with INVALID FIELD IN COMMAND INFORMATION
    /// UNIT (FCP-4 9.4.2 b)) and the transport reports the overflow residual.
    /// </summary>
    internal static bool HasDataOut(ScsiTask task, LuState state, int bytes)
    {
        task.CommandTransferLength = bytes;
        if (task.DataOut.Length >= bytes) return true;
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.InvalidFieldInCommandInformationUnit);
        return false;
    }

    /// <summary>FUA bit (byte 1 bit 3), or every write when the caching page has WCE = 0 (SBC-4 6.5.5).</summary>
    internal static WriteFlags WriteFlagsOf(ReadOnlySpan<byte> cdb, LuState state) =>
        (cdb[0] >> 5 != 0 && (cdb[1] & 0x08) != 0) || !state.CurrentMode.WriteCacheEnabled ? WriteFlags.Fua : WriteFlags.None;
}
