using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.24 SANITIZE (48h) and the sanitize model of SBC-4 4.11: OVERWRITE (01h), BLOCK ERASE (02h),
/// CRYPTOGRAPHIC ERASE (03h) and EXIT FAILURE MODE (1Fh).
/// <list type="bullet">
/// <item>The operation runs in the background, owned by the logical unit, not by the command: IMMED = 1
/// returns once the CDB and parameter list are validated; IMMED = 0 waits, but ABORT TASK, resets and
/// I_T nexus loss end only the command — the operation goes on (SBC-4 4.11.2).</item>
/// <item>While it runs, every command except INQUIRY, REPORT LUNS and REQUEST SENSE ends with NOT READY,
/// SANITIZE IN PROGRESS and a progress indication (<see cref="TryRefuse"/>, called first by dispatch, before
/// unit attentions, so a host that logs in again still learns why the LU is not ready).</item>
/// <item>OVERWRITE writes the pattern (repeated to a block, inverted between passes with INVERT) over every
/// block, OVERWRITE COUNT times; with an all-zero final pattern each piece is deallocated right after it was
/// overwritten, so a thin volume never fills up. BLOCK ERASE overwrites the mapped runs with zeros and then
/// deallocates the whole volume. Tessera does not encrypt data, so CRYPTOGRAPHIC ERASE (changing a key)
/// cannot exist as such; it performs the block erase, which leaves the medium in the state a crypto erase
/// promises (no user data recoverable through the LU, mapped reads return zeros).</item>
/// <item>Writes are throttled to <see cref="BytesPerSecond"/> so that a sanitize does not starve the other
/// volumes of the node; that also makes it a long-running operation, as on real media.</item>
/// <item>A failure (store error) leaves the LU in failure mode: medium access ends with MEDIUM ERROR,
/// SANITIZE COMMAND FAILED until a sanitize succeeds or, if the failed one had AUSE = 1, EXIT FAILURE MODE.</item>
/// </list>
/// </summary>
internal static class Sanitize
{
    public const byte Opcode = 0x48;
    public const int OverwriteAction = 0x01, BlockEraseAction = 0x02, CryptographicEraseAction = 0x03, ExitFailureModeAction = 0x1F;

    // Byte 1: IMMED (7), AUSE (5), SERVICE ACTION (4-0); ZNR (6) applies to zoned devices only. Bytes 2-6
    // reserved, 7-8 PARAMETER LIST LENGTH.
    private static CommandDescriptor Make(int action, string name) => new(Opcode, action, name,
        [Opcode, 0xBF, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    public static readonly CommandDescriptor Overwrite = Make(OverwriteAction, "SANITIZE OVERWRITE");
    public static readonly CommandDescriptor BlockErase = Make(BlockEraseAction, "SANITIZE BLOCK ERASE");
    public static readonly CommandDescriptor CryptographicErase = Make(CryptographicEraseAction, "SANITIZE CRYPTOGRAPHIC ERASE");
    public static readonly CommandDescriptor ExitFailureMode = Make(ExitFailureModeAction, "SANITIZE EXIT FAILURE MODE");

    public static readonly CommandDescriptor[] Commands = [Overwrite, BlockErase, CryptographicErase, ExitFailureMode];

    /// <summary>Write rate of a sanitize operation (bytes per second).</summary>
    internal static long BytesPerSecond { get; set; } = 64L << 20;

    private const int ChunkBytes = 1 << 20;

    /// <summary>The running operation of each LU (node-local: progress and the task IMMED = 0 waits for).</summary>
    private static readonly ConditionalWeakTable<LogicalUnit, Operation> Running = new();

    private sealed class Operation
    {
        public long Done, Total = 1;
        public Task Completion = Task.CompletedTask;
        public Exception? Error;

        /// <summary>SPC-5 4.4.2.4.4 PROGRESS INDICATION: fraction done × 65536.</summary>
        public ushort Progress => (ushort)Math.Min(65535, Interlocked.Read(ref Done) * 65536 / Math.Max(1, Total));
    }

    /// <summary>
    /// SBC-4 4.11.2: refuses a command while a sanitize operation runs (NOT READY, SANITIZE IN PROGRESS with a
    /// progress indication) or after one failed (MEDIUM ERROR, SANITIZE COMMAND FAILED; SANITIZE itself may
    /// still run). INQUIRY, REPORT LUNS and REQUEST SENSE always run. Returns true when the task was ended.
    /// </summary>
    internal static bool TryRefuse(LogicalUnit lu, ScsiTask task, LuState state, CommandDescriptor? command)
    {
        if (state.Sanitize is not { } sanitize) return false;
        if (command is not null && command.IgnoresUnitAttention) return false; // INQUIRY, REPORT LUNS, REQUEST SENSE
        if (sanitize.InProgress)
        {
            ushort progress = Running.TryGetValue(lu, out var op) ? op.Progress : (ushort)0;
            task.CheckCondition(state, SenseKey.NotReady, Asc.LogicalUnitNotReadySanitizeInProgress,
                sks: new SenseKeySpecific(true, 0x80, (byte)(progress >> 8), (byte)progress));
            return true;
        }
        if (sanitize.Failed && command?.Opcode != Opcode)
        {
            task.CheckCondition(state, SenseKey.MediumError, Asc.SanitizeCommandFailed);
            return true;
        }
        return false;
    }

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int action = cdb[1] & 0x1F;
        bool immediate = (cdb[1] & 0x80) != 0, ause = (cdb[1] & 0x20) != 0;
        int length = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);

        if (action == ExitFailureModeAction)
        {
            if (length != 0) { task.InvalidFieldInCdb(state, 7); return; }
            // SBC-4 5.24.1: only a failure of a sanitize requested with AUSE = 1 may be left this way.
            bool ok = await lu.Context.ChangeAsync(s => s.Sanitize switch
            {
                { InProgress: true } => (s, true), // refused earlier by TryRefuse; nothing to do here
                { Failed: true, Ause: false } => (s, false),
                { Failed: true } => (s with { Sanitize = null }, true),
                _ => (s, true),
            }).ConfigureAwait(false);
            if (!ok) task.InvalidFieldInCdb(state, 1, 4);
            return;
        }

        byte[]? pattern = null;
        int passes = 1;
        bool invert = false;
        if (action == OverwriteAction)
        {
            // SBC-4 5.24.3: PARAMETER LIST LENGTH is 4 + INITIALIZATION PATTERN LENGTH, the pattern 1 … block size.
            if (length < 5 || length > lu.BlockSize + 4) { task.InvalidFieldInCdb(state, 7); return; }
            if (!ReadWrite.HasDataOut(task, state, length)) return;
            var list = task.DataOut.Span[..length];
            int count = list[0] & 0x1F, test = (list[0] >> 5) & 0x03, ipl = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
            invert = (list[0] & 0x80) != 0;
            if (test != 0) { task.InvalidFieldInParameterList(state, 0, 6); return; }
            if (count == 0) { task.InvalidFieldInParameterList(state, 0, 4); return; }
            if (list[1] != 0) { task.InvalidFieldInParameterList(state, 1, TaskResults.HighestBit(list[1])); return; }
            if (ipl == 0 || ipl > lu.BlockSize || ipl + 4 != length) { task.InvalidFieldInParameterList(state, 2); return; }
            passes = count;
            pattern = new byte[lu.BlockSize];
            for (int at = 0; at < pattern.Length; at += ipl)
                list.Slice(4, Math.Min(ipl, pattern.Length - at)).CopyTo(pattern.AsSpan(at));
        }
        else if (length != 0)
        {
            task.InvalidFieldInCdb(state, 7); // BLOCK ERASE and CRYPTOGRAPHIC ERASE take no parameter list
            return;
        }
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }

        var op = new Operation();
        // Start only if nothing runs and a failure in restricted mode (AUSE = 0) is not being bypassed.
        int started = await lu.Context.ChangeAsync(s => s.Sanitize switch
        {
            { InProgress: true } => (s, 1),
            { Failed: true, Ause: false } when ause => (s, 2),
            _ => (s with { Sanitize = new SanitizeState(InProgress: true, Failed: false, Ause: ause) }, 0),
        }).ConfigureAwait(false);
        if (started == 1)
        {
            task.CheckCondition(state, SenseKey.NotReady, Asc.LogicalUnitNotReadySanitizeInProgress);
            return;
        }
        if (started == 2) { task.InvalidFieldInCdb(state, 1, 5); return; }

        Running.AddOrUpdate(lu, op);
        op.Completion = Task.Run(() => RunAsync(lu, op, pattern, passes, invert, ause));
        if (immediate) return;
        // IMMED = 0: wait, but let task management end the command without stopping the operation.
        while (!op.Completion.IsCompleted)
        {
            if (task.IsAborted) return;
            await Task.WhenAny(op.Completion, Task.Delay(100)).ConfigureAwait(false);
        }
        if (op.Error is not null)
            task.CheckCondition(lu.Context.Current, SenseKey.MediumError, Asc.SanitizeCommandFailed);
    }

    private static async Task RunAsync(LogicalUnit lu, Operation op, byte[]? pattern, int passes, bool invert, bool ause)
    {
        try
        {
            if (pattern is not null) await OverwriteAsync(lu, op, pattern, passes, invert).ConfigureAwait(false);
            else await EraseAsync(lu, op).ConfigureAwait(false);
            await lu.Store.FlushAsync().ConfigureAwait(false);
            await lu.Context.ChangeAsync(s => (s with { Sanitize = null }, true)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            op.Error = e;
            await lu.Context.ChangeAsync(s => (s with { Sanitize = new SanitizeState(InProgress: false, Failed: true, Ause: ause) }, true)).ConfigureAwait(false);
        }
    }

    private static async Task OverwriteAsync(LogicalUnit lu, Operation op, byte[] pattern, int passes, bool invert)
    {
        long blocks = lu.Store.BlockCount;
        int bs = lu.BlockSize;
        op.Total = blocks * passes;
        var throttle = Stopwatch.StartNew();
        long written = 0;
        int chunkBlocks = (int)Math.Min(blocks, Math.Max(1, ChunkBytes / bs));
        var buffer = ArrayPool<byte>.Shared.Rent(chunkBlocks * bs);
        try
        {
            for (int pass = 0; pass < passes; pass++)
            {
                // SBC-4 5.24.3: with INVERT the pattern alternates so that the last pass writes it as given.
                bool inverted = invert && (passes - 1 - pass) % 2 == 1;
                for (int i = 0; i < chunkBlocks; i++)
                {
                    var block = buffer.AsSpan(i * bs, bs);
                    pattern.CopyTo(block);
                    if (inverted) for (int j = 0; j < block.Length; j++) block[j] = (byte)~block[j];
                }
                bool deallocate = pass == passes - 1 && !pattern.AsSpan().ContainsAnyExcept((byte)0);
                for (long lba = 0; lba < blocks;)
                {
                    int n = (int)Math.Min(chunkBlocks, blocks - lba);
                    await lu.Store.WriteAsync(lba, buffer.AsMemory(0, n * bs), WriteFlags.Fua).ConfigureAwait(false);
                    if (deallocate) await lu.Store.UnmapAsync(lba, n).ConfigureAwait(false);
                    lba += n;
                    Interlocked.Add(ref op.Done, n);
                    written += (long)n * bs;
                    await ThrottleAsync(throttle, written).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task EraseAsync(LogicalUnit lu, Operation op)
    {
        long blocks = lu.Store.BlockCount;
        int bs = lu.BlockSize;
        op.Total = blocks;
        var throttle = Stopwatch.StartNew();
        long written = 0;
        int chunkBlocks = (int)Math.Min(blocks, Math.Max(1, ChunkBytes / bs));
        var zeros = ArrayPool<byte>.Shared.Rent(chunkBlocks * bs);
        try
        {
            zeros.AsSpan(0, chunkBlocks * bs).Clear();
            for (long lba = 0; lba < blocks;)
            {
                var run = await lu.Store.GetLbaStatusAsync(lba).ConfigureAwait(false);
                long runBlocks = Math.Clamp(run.BlockCount, 1, blocks - lba);
                if (run.Mapped)
                {
                    // Overwrite the data in place before giving the space back, so it is gone from the disk too.
                    for (long done = 0; done < runBlocks;)
                    {
                        int n = (int)Math.Min(chunkBlocks, runBlocks - done);
                        await lu.Store.WriteAsync(lba + done, zeros.AsMemory(0, n * bs), WriteFlags.Fua).ConfigureAwait(false);
                        done += n;
                        Interlocked.Add(ref op.Done, n);
                        written += (long)n * bs;
                        await ThrottleAsync(throttle, written).ConfigureAwait(false);
                    }
                }
                else
                {
                    Interlocked.Add(ref op.Done, runBlocks);
                }
                lba += runBlocks;
            }
            await lu.Store.UnmapAsync(0, blocks).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeros);
        }
    }

    private static Task ThrottleAsync(Stopwatch clock, long written)
    {
        long rate = Math.Max(1, BytesPerSecond);
        var due = TimeSpan.FromSeconds((double)written / rate) - clock.Elapsed;
        return due > TimeSpan.FromMilliseconds(1) ? Task.Delay(due) : Task.CompletedTask;
    }
}
