namespace Tessera.Scsi.Tests.Sbc;

public class CompareAndWriteTests
{
    private static byte[] Filled(int bytes, byte value)
    {
        var b = new byte[bytes];
        b.AsSpan().Fill(value);
        return b;
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    [Fact]
    public void CompareAndWriteWritesOnlyWhenTheBlocksMatch()
    {
        var h = SbcHarness.Thin();
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 10, 4), dataOut: Filled(4 * 512, (byte)'A')).Status);
        var t = h.Run(SbcCdb.CompareAndWrite(10, 4, byte1: 0x08), dataOut: Concat(Filled(2048, (byte)'A'), Filled(2048, (byte)'B')));
        Assert.Equal((ScsiStatus.Good, 4096), (t.Status, t.CommandTransferLength));
        Assert.True(h.Thin0.Data.AsSpan(10 * 512, 2048).IndexOfAnyExcept((byte)'B') < 0);
        Assert.Equal(WriteFlags.Fua, h.Thin0.LastWriteFlags); // FUA bit honoured

        // One byte different in the third block: MISCOMPARE with the offset into the verify data, nothing written.
        var verify = Filled(2048, (byte)'B');
        verify[2 * 512 + 100] = (byte)'X';
        var s = Sense.Of(h.Run(SbcCdb.CompareAndWrite(10, 4), dataOut: Concat(verify, Filled(2048, (byte)'C'))));
        Assert.Equal((0xE, 0x1D00, 2L * 512 + 100), (s.Key, s.AscAscq, s.Information));
        Assert.True(h.Thin0.Data.AsSpan(10 * 512, 2048).IndexOfAnyExcept((byte)'B') < 0);
    }

    [Fact]
    public void CompareAndWriteLimitsRangeDataOutSizeAndProtection()
    {
        var h = SbcHarness.Thin(blocks: 1024);
        // More than MAXIMUM COMPARE AND WRITE LENGTH (255): INVALID FIELD IN CDB at byte 13. Zero blocks: GOOD.
        Assert.Equal((0x2400, 13), (Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 0), dataOut: new byte[2 * 256 * 512])).AscAscq,
                                    Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 0), dataOut: new byte[1024])).FieldPointer));
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.CompareAndWrite(0, 0)).Status);
        // Data-Out of 4 blocks with NUMBER OF LOGICAL BLOCKS 1 or 2 (libiscsi InvalidDataOutSize).
        int caws = h.Thin0.CompareAndWrites;
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 1), dataOut: new byte[4 * 512])).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 2), dataOut: new byte[4 * 512 - 1])).AscAscq);
        Assert.Equal(caws, h.Thin0.CompareAndWrites);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.CompareAndWrite(1023, 2), dataOut: new byte[2048])).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.CompareAndWrite(ulong.MaxValue, 1), dataOut: new byte[1024])).AscAscq);
        Assert.Equal((0x2400, 1), (Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 1, byte1: 0x20), dataOut: new byte[1024])).AscAscq,
                                   Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 1, byte1: 0x20), dataOut: new byte[1024])).FieldPointer));
        h.Thin0.IsReadOnly = true;
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.CompareAndWrite(0, 1), dataOut: new byte[1024])).AscAscq);
    }

    [Fact]
    public void OrWriteOrsTheDataIntoTheBlocks()
    {
        var h = SbcHarness.Thin();
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 2), dataOut: Filled(1024, 0xA5)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.OrWrite16(0, 2), dataOut: Filled(1024, 0x5A)).Status);
        Assert.True(h.Thin0.Data.AsSpan(0, 1024).IndexOfAnyExcept((byte)0xFF) < 0);
        var mixed = new byte[1024];
        for (int i = 0; i < mixed.Length; i++) mixed[i] = (byte)i;
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.OrWrite16(2, 2), dataOut: mixed).Status);
        Assert.True(h.Thin0.Data.AsSpan(1024, 1024).SequenceEqual(mixed)); // OR with zeros
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.OrWrite16(0, 0)).Status);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.OrWrite16(4097, 0))).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.OrWrite16(4095, 2), dataOut: new byte[1024])).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.OrWrite16(0, 1, byte1: 0x40), dataOut: new byte[512])).AscAscq); // ORPROTECT
        h.Thin0.IsReadOnly = true;
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.OrWrite16(0, 1), dataOut: new byte[512])).AscAscq);
    }

    [Fact]
    public async Task OrWriteIsAtomicAgainstConcurrentOrWrites()
    {
        // Every ORWRITE sets one distinct bit of the same block; lost updates would clear some of them.
        var h = SbcHarness.Thin(blocks: 64);
        var work = Enumerable.Range(0, 512 * 8).Select(bit => Task.Run(async () =>
        {
            var data = new byte[512];
            data[bit / 8] = (byte)(1 << (bit % 8));
            var t = await h.RunAsync(bit % 2 == 0 ? Harness.NexusA : Harness.NexusB, SbcCdb.OrWrite16(7, 1), dataOut: data);
            Assert.Equal(ScsiStatus.Good, t.Status);
        }));
        await Task.WhenAll(work);
        Assert.True(h.Thin0.Data.AsSpan(7 * 512, 512).IndexOfAnyExcept((byte)0xFF) < 0);
    }

    [Fact]
    public void WriteAtomicChecksAlignmentGranularityBoundaryAndLength()
    {
        var h = SbcHarness.Thin(blocks: 8192);
        var data = new byte[16 * 512];
        Random.Shared.NextBytes(data);
        var t = h.Run(SbcCdb.WriteAtomic16(8, 16, byte1: 0x18), dataOut: data);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.True(h.Thin0.Data.AsSpan(8 * 512, data.Length).SequenceEqual(data));
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteAtomic16(0, 0)).Status);

        var s = Sense.Of(h.Run(SbcCdb.WriteAtomic16(1, 8), dataOut: new byte[4096]));   // misaligned LBA
        Assert.Equal((0x2400, 2), (s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(SbcCdb.WriteAtomic16(0, 1), dataOut: new byte[512]));        // not a multiple of the granularity
        Assert.Equal((0x2400, 12), (s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(SbcCdb.WriteAtomic16(0, 8, boundary: 8), dataOut: new byte[4096])); // atomic boundaries not supported
        Assert.Equal((0x2400, 10), (s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(SbcCdb.WriteAtomic16(0, 2056), dataOut: new byte[2056 * 512])); // beyond MAXIMUM ATOMIC TRANSFER LENGTH
        Assert.Equal((0x2400, 12), (s.AscAscq, s.FieldPointer));
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.WriteAtomic16(8192 - 8, 16), dataOut: new byte[16 * 512])).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.WriteAtomic16(8192 + 8, 0))).AscAscq);
        // A short Data-Out is never written in part.
        Assert.Equal(0x0E03, Sense.Of(h.Run(SbcCdb.WriteAtomic16(64, 8), dataOut: new byte[4095])).AscAscq);
        Assert.False(h.Thin0.Mapped[64]);
        h.Thin0.IsReadOnly = true;
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.WriteAtomic16(0, 8), dataOut: new byte[4096])).AscAscq);
    }

    [Fact]
    public async Task WriteAtomicIsNeverSeenTorn()
    {
        // Two writers alternate whole-range patterns with WRITE ATOMIC while COMPARE AND WRITE probes check
        // that the range only ever holds one complete pattern (the probe's verify data is pattern 1; it
        // either matches completely or miscompares at offset 0, never in the middle).
        var h = SbcHarness.Thin(blocks: 64);
        var p1 = Filled(32 * 512, 1);
        var p2 = Filled(32 * 512, 2);
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteAtomic16(0, 32), dataOut: p1).Status);
        var writers = Enumerable.Range(0, 200).Select(i => Task.Run(() => h.RunAsync(Harness.NexusA, SbcCdb.WriteAtomic16(0, 32), dataOut: i % 2 == 0 ? p2 : p1)));
        var probes = Enumerable.Range(0, 200).Select(_ => Task.Run(() => h.RunAsync(Harness.NexusB, SbcCdb.CompareAndWrite(0, 32), dataOut: [.. p1, .. p1])));
        var all = await Task.WhenAll(writers.Concat(probes));
        foreach (var t in all)
        {
            if (t.Status == ScsiStatus.Good) continue;
            Assert.Equal(0L, Sense.Of(t).Information);
        }
    }
}
