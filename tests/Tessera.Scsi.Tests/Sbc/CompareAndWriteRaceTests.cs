using System.Buffers.Binary;
using System.Diagnostics;
using Xunit.Abstractions;

namespace Tessera.Scsi.Tests.Sbc;

/// <summary>
/// COMPARE AND WRITE races on a real <see cref="Storage.ThinVolume"/>: workers on two I_T nexuses issue
/// COMPARE AND WRITE over overlapping multi-block ranges and single-block WRITEs to the same 8 blocks.
/// Every block any command writes carries a unique stamp (command id, block), so the content of a block
/// names its last writer. The recorded history (invocation and completion times, the verify data each
/// COMPARE AND WRITE sent, GOOD or MISCOMPARE with its offset) and the final content must be explained by
/// one serial order of the commands that respects real time (a linearization, found by the
/// <see cref="Linearizability"/> search): every successful COMPARE AND WRITE saw exactly its verify data,
/// every miscompare saw different data at exactly the reported offset, and the final content is what the
/// order leaves. A COMPARE AND WRITE whose compare and write were not atomic lets two of them succeed on
/// the same old content — no serial order explains that (the checker's own tests below show it rejects
/// such histories).
/// </summary>
public class CompareAndWriteRaceTests(ITestOutputHelper output)
{
    internal const int Region = 8, RegionLba = 64, BlockSize = 512;

    /// <summary>The content a command writes into a block of the region: its id, the block, a filler.</summary>
    internal static void Stamp(Span<byte> block, int id, int index)
    {
        BinaryPrimitives.WriteInt32LittleEndian(block, id);
        BinaryPrimitives.WriteInt32LittleEndian(block[4..], index);
        block[8..].Fill((byte)(id * 31 + index));
    }

    /// <summary>The writer id a block names, or -1 when it is not a valid stamp for that block.</summary>
    internal static int WriterOf(ReadOnlySpan<byte> block, int index)
    {
        int id = BinaryPrimitives.ReadInt32LittleEndian(block);
        if (BinaryPrimitives.ReadInt32LittleEndian(block[4..]) != index) return -1;
        return block[8..].IndexOfAnyExcept((byte)(id * 31 + index)) < 0 ? id : -1;
    }

    /// <summary>Offset of the first byte that differs between the stamps of two writers in one block.</summary>
    internal static int FirstDifference(int a, int b, int index)
    {
        Span<byte> x = stackalloc byte[BlockSize], y = stackalloc byte[BlockSize];
        Stamp(x, a, index);
        Stamp(y, b, index);
        return x.CommonPrefixLength(y);
    }

    [Fact]
    public async Task ConcurrentCompareAndWritesAndWritesFromTwoSessionsAreLinearizable()
    {
        using var temp = new TempThinVolume(1 << 20);
        var h = new SbcHarness(temp.Volume);
        var init = new byte[Region * BlockSize];
        for (int b = 0; b < Region; b++) Stamp(init.AsSpan(b * BlockSize, BlockSize), 0, b);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, RegionLba, Region), dataOut: init).Status);

        const int workersPerNexus = 3, opsPerWorker = 100;
        var history = new List<Linearizability.Op>();
        var gate = new object();
        int nextId = 1;
        var workers = new List<Task>();
        foreach (var nexus in new[] { Harness.NexusA, Harness.NexusB })
        {
            for (int w = 0; w < workersPerNexus; w++)
            {
                int seed = workers.Count;
                workers.Add(Task.Run(async () =>
                {
                    var random = new Random(seed);
                    for (int i = 0; i < opsPerWorker; i++)
                    {
                        int id = Interlocked.Increment(ref nextId);
                        if (random.Next(3) == 0)
                        {
                            int b = random.Next(Region);
                            var data = new byte[BlockSize];
                            Stamp(data, id, b);
                            long start = Stopwatch.GetTimestamp();
                            var t = await h.RunAsync(nexus, Cdb.Block(0x2A, (ulong)(RegionLba + b), 1), dataOut: data);
                            long end = Stopwatch.GetTimestamp();
                            Assert.Equal(ScsiStatus.Good, t.Status);
                            lock (gate) history.Add(new Linearizability.Op(id, start, end, b, 1, null, Succeeded: true, MiscompareOffset: -1));
                        }
                        else
                        {
                            int s = random.Next(Region), n = 1 + random.Next(Math.Min(4, Region - s));
                            // Verify data: what a READ just saw (it may be stale by the time the command runs).
                            var read = await h.RunAsync(nexus, Cdb.Block(0x28, (ulong)(RegionLba + s), (uint)n), dataIn: n * BlockSize);
                            Assert.Equal(ScsiStatus.Good, read.Status);
                            var expected = new int[n];
                            for (int k = 0; k < n; k++)
                            {
                                expected[k] = WriterOf(read.DataIn.Span.Slice(k * BlockSize, BlockSize), s + k);
                                Assert.True(expected[k] >= 0, "a block held something no command wrote");
                            }
                            // Let the others move on between the READ and the COMPARE AND WRITE now and then.
                            switch (random.Next(4))
                            {
                                case 0: await Task.Yield(); break;
                                case 1: await Task.Delay(1); break;
                                case 2: Thread.SpinWait(random.Next(5000)); break;
                            }
                            var dataOut = new byte[2 * n * BlockSize];
                            read.DataIn.Span[..(n * BlockSize)].CopyTo(dataOut);
                            for (int k = 0; k < n; k++) Stamp(dataOut.AsSpan((n + k) * BlockSize, BlockSize), id, s + k);
                            long start = Stopwatch.GetTimestamp();
                            var t = await h.RunAsync(nexus, SbcCdb.CompareAndWrite((ulong)(RegionLba + s), (byte)n), dataOut: dataOut);
                            long end = Stopwatch.GetTimestamp();
                            long offset = -1;
                            if (t.Status != ScsiStatus.Good)
                            {
                                var sense = Sense.Of(t);
                                Assert.Equal((0xE, 0x1D00), (sense.Key, sense.AscAscq));
                                offset = sense.Information;
                            }
                            lock (gate) history.Add(new Linearizability.Op(id, start, end, s, n, expected, t.Status == ScsiStatus.Good, offset));
                        }
                    }
                }));
            }
        }
        await Task.WhenAll(workers);

        var final = Harness.DataIn(h.Run(Cdb.Block(0x28, RegionLba, Region), dataIn: Region * BlockSize));
        var finalWriters = new int[Region];
        for (int b = 0; b < Region; b++)
        {
            finalWriters[b] = WriterOf(final.AsSpan(b * BlockSize, BlockSize), b);
            Assert.True(finalWriters[b] >= 0);
        }
        int successes = history.Count(o => o.Expected is not null && o.Succeeded), miscompares = history.Count(o => o.Expected is not null && !o.Succeeded);
        var result = Linearizability.Check(history, Region, finalWriters, out long explored);
        output.WriteLine($"{history.Count} commands: {successes} COMPARE AND WRITE succeeded, {miscompares} miscompared, {history.Count(o => o.Expected is null)} WRITEs; {explored} search states; linearizable: {result}");
        // The run must really race, or it proves nothing.
        Assert.True(successes >= 20 && miscompares >= 20, $"too little contention: {successes} successes, {miscompares} miscompares");
        Assert.True(result, "no serial order explains the history and the final content");
    }

    private static Linearizability.Op Caw(int id, long start, long end, int lba, int[] expected, bool ok, long offset = -1) =>
        new(id, start, end, lba, expected.Length, expected, ok, offset);

    private static Linearizability.Op Write(int id, long start, long end, int lba) => new(id, start, end, lba, 1, null, true, -1);

    [Fact]
    public void TheCheckerAcceptsConcurrentOrdersAndRejectsLostUpdatesWrongOffsetsAndWrongFinalContent()
    {
        // Two overlapping COMPARE AND WRITEs that both expect the initial content: at most one may succeed.
        var lostUpdate = new[] { Caw(1, 0, 10, 0, [0, 0], true), Caw(2, 1, 9, 1, [0, 0], true) };
        Assert.False(Linearizability.Check(lostUpdate, 4, [1, 2, 2, 0], out _));
        Assert.False(Linearizability.Check(lostUpdate, 4, [1, 1, 2, 0], out _));

        // The same pair with the second failing at block 0 of its range (it saw writer 1 there): valid, but only
        // with the offset the stamps really differ at.
        int offset = FirstDifference(1, 0, 1);
        var valid = new[] { Caw(1, 0, 10, 0, [0, 0], true), Caw(2, 1, 9, 1, [0, 0], false, offset) };
        Assert.True(Linearizability.Check(valid, 4, [1, 1, 0, 0], out _));
        var wrongOffset = new[] { Caw(1, 0, 10, 0, [0, 0], true), Caw(2, 1, 9, 1, [0, 0], false, BlockSize + offset) };
        Assert.False(Linearizability.Check(wrongOffset, 4, [1, 1, 0, 0], out _));

        // A COMPARE AND WRITE that depends on a WRITE which started later but overlapped it: the order
        // "write, then compare" is the only explanation, and the checker must find it.
        var chained = new[] { Caw(1, 0, 100, 2, [5], true), Write(5, 10, 20, 2), Caw(3, 50, 60, 2, [0], false, FirstDifference(5, 0, 2)) };
        Assert.True(Linearizability.Check(chained, 4, [0, 0, 1, 0], out _));
        // ... but not if the WRITE only started after the COMPARE AND WRITE had completed (real time).
        var late = new[] { Caw(1, 0, 9, 2, [5], true), Write(5, 10, 20, 2) };
        Assert.False(Linearizability.Check(late, 4, [0, 0, 5, 0], out _));

        // Final content no order leaves behind.
        var writes = new[] { Write(1, 0, 10, 0), Write(2, 20, 30, 0) };
        Assert.True(Linearizability.Check(writes, 1, [2], out _));
        Assert.False(Linearizability.Check(writes, 1, [1], out _));
    }
}

/// <summary>
/// A linearizability check (Wing–Gong search with Lowe's memoisation) for COMPARE AND WRITE / WRITE
/// histories over a few blocks whose state is "last writer per block".
/// </summary>
internal static class Linearizability
{
    /// <param name="Expected">Writer per block the COMPARE AND WRITE's verify data named; null for a WRITE.</param>
    internal sealed record Op(int Id, long Invoked, long Completed, int Lba, int Blocks, int[]? Expected, bool Succeeded, long MiscompareOffset);

    public static bool Check(IReadOnlyList<Op> history, int blocks, int[] finalWriters, out long explored)
    {
        var ops = history.OrderBy(o => o.Invoked).ToArray();
        var memo = new HashSet<string>();
        var done = new bool[ops.Length];
        var state = new int[blocks];
        long count = 0;
        bool ok = Search(0);
        explored = count;
        return ok;

        bool Search(int linearized)
        {
            count++;
            if (linearized == ops.Length) return state.AsSpan().SequenceEqual(finalWriters);
            string key = Key();
            if (!memo.Add(key)) return false;
            // Only an op invoked before every pending op completed can come next (real-time order).
            long horizon = long.MaxValue;
            for (int i = 0; i < ops.Length; i++) if (!done[i]) horizon = Math.Min(horizon, ops[i].Completed);
            for (int i = 0; i < ops.Length && ops[i].Invoked <= horizon; i++)
            {
                if (done[i]) continue;
                var op = ops[i];
                if (!Applies(op)) continue;
                var saved = state[op.Lba..(op.Lba + op.Blocks)];
                if (op.Succeeded) state.AsSpan(op.Lba, op.Blocks).Fill(op.Id);
                done[i] = true;
                if (Search(linearized + 1)) return true;
                done[i] = false;
                saved.CopyTo(state, op.Lba);
            }
            return false;
        }

        bool Applies(Op op)
        {
            if (op.Expected is null) return true; // a WRITE always takes effect
            for (int k = 0; k < op.Blocks; k++)
            {
                int current = state[op.Lba + k];
                if (current == op.Expected[k]) continue;
                // First difference: the command must have failed, at exactly this byte.
                return !op.Succeeded && op.MiscompareOffset == (long)k * CompareAndWriteRaceTests.BlockSize
                    + CompareAndWriteRaceTests.FirstDifference(op.Expected[k], current, op.Lba + k);
            }
            return op.Succeeded;
        }

        string Key()
        {
            var chars = new char[done.Length + state.Length * 6];
            for (int i = 0; i < done.Length; i++) chars[i] = done[i] ? '1' : '0';
            var s = new string(chars, 0, done.Length);
            return s + "|" + string.Join(',', state);
        }
    }
}
