namespace Tessera.Scsi.Tests;

public class ReadWriteTests
{
    public static TheoryData<byte, byte> Pairs => new() { { 0x08, 0x0A }, { 0x28, 0x2A }, { 0xA8, 0xAA }, { 0x88, 0x8A } };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void RoundTripsEveryCdbSize(byte read, byte write)
    {
        var h = new Harness();
        var data = new byte[3 * 512];
        Random.Shared.NextBytes(data);
        var w = h.Run(Cdb.Block(write, 1000, 3), dataOut: data);
        Assert.Equal(ScsiStatus.Good, w.Status);
        Assert.Equal(data.Length, w.CommandTransferLength);
        Assert.Equal(data, h.Store.Data.AsSpan(1000 * 512, data.Length).ToArray());
        var r = h.Run(Cdb.Block(read, 1000, 3), dataIn: data.Length);
        Assert.Equal(ScsiStatus.Good, r.Status);
        Assert.Equal(data, Harness.DataIn(r));
    }

    [Fact]
    public void Read6TransferLengthZeroMeans256Blocks()
    {
        var h = new Harness();
        var r = h.Run(Cdb.Block(0x08, 0, 0), dataIn: 256 * 512);
        Assert.Equal(ScsiStatus.Good, r.Status);
        Assert.Equal(256 * 512, r.CommandTransferLength);
        Assert.Equal(256 * 512, r.DataInLength);
    }

    [Fact]
    public void FuaReachesTheStoreAndWceOffMakesEveryWriteFua()
    {
        var h = new Harness();
        h.Run(Cdb.Block(0x2A, 0, 1, byte1: 0x08), dataOut: new byte[512]);
        Assert.Equal(WriteFlags.Fua, h.Store.LastWriteFlags);
        h.Run(Cdb.Block(0x2A, 0, 1, byte1: 0x10), dataOut: new byte[512]); // DPO only
        Assert.Equal(WriteFlags.None, h.Store.LastWriteFlags);

        // Caching page with WCE = 0.
        var page = new byte[4 + 20];
        page[4] = 0x08; page[5] = 0x12;
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(page.Length), dataOut: page).Status);
        h.Run(Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]);
        Assert.Equal(WriteFlags.Fua, h.Store.LastWriteFlags);
    }

    [Theory]
    [InlineData(0x28)] [InlineData(0x2A)] [InlineData(0xA8)] [InlineData(0xAA)] [InlineData(0x88)] [InlineData(0x8A)]
    public void OutOfRangeLbasAreRejectedEvenForZeroBlocks(byte opcode)
    {
        var h = new Harness(blocks: 2048);
        bool write = (opcode & 0x02) != 0;
        ScsiTask Run(ulong lba, uint n) => write ? h.Run(Cdb.Block(opcode, lba, n), dataOut: new byte[n * 512]) : h.Run(Cdb.Block(opcode, lba, n), dataIn: (int)n * 512);
        Assert.Equal(ScsiStatus.Good, Run(2047, 1).Status);
        Assert.Equal(ScsiStatus.Good, Run(2048, 0).Status);
        Assert.Equal(0x2100, Sense.Of(Run(2047, 2)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(Run(2049, 0)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(Run(0x8000_0000, 0)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(Run(opcode >> 5 == 4 ? ulong.MaxValue : uint.MaxValue, 1)).AscAscq);
        Assert.Equal(write ? 1 : 0, h.Store.Writes);
    }

    [Fact]
    public void TransferBeyondMaximumTransferLengthPointsAtTheLengthField()
    {
        var h = new Harness(blocks: 1 << 16);
        uint tooMany = (uint)h.Lu.MaximumTransferBlocks + 1;
        var s = Sense.Of(h.Run(Cdb.Block(0x88, 0, tooMany), dataIn: 512));
        Assert.Equal((0x5, 0x2400, 10), (s.Key, s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(Cdb.Block(0x2A, 0, tooMany), dataOut: new byte[512]));
        Assert.Equal((0x2400, 7), (s.AscAscq, s.FieldPointer));
    }

    [Theory]
    [InlineData(0x28, 0x20, 1, 5)] // RDPROTECT
    [InlineData(0x2A, 0x40, 1, 6)] // WRPROTECT
    [InlineData(0x28, 0x04, 1, 2)] // RARC not supported
    [InlineData(0x28, 0x02, 1, 1)] // obsolete FUA_NV
    public void ProtectionAndUnsupportedBitsAreInvalidFieldsInCdb(byte opcode, byte byte1, int field, int bit)
    {
        var h = new Harness();
        byte[] cdb = Cdb.Block(opcode, 0, 1, byte1);
        var t = (opcode & 0x02) != 0 ? h.Run(cdb, dataOut: new byte[512]) : h.Run(cdb, dataIn: 512);
        var s = Sense.Of(t);
        Assert.Equal((0x5, 0x2400, true, true, field, true), (s.Key, s.AscAscq, s.HasSks, s.CommandData, s.FieldPointer, s.BitPointerValid));
        Assert.Equal(TaskBit(byte1, bit), s.BitPointer);
        Assert.Equal(0, h.Store.Writes);
    }

    private static int TaskBit(byte b, int expected) { Assert.NotEqual(0, b & (1 << expected)); return expected; }

    [Fact]
    public void ReservedControlByteBitsAreRejected()
    {
        var h = new Harness();
        var cdb = Cdb.Block(0x28, 0, 1);
        cdb[9] = 0x04; // NACA with NormACA unsupported
        var s = Sense.Of(h.Run(cdb, dataIn: 512));
        Assert.Equal((0x2400, 9, 2), (s.AscAscq, s.FieldPointer, s.BitPointer));
    }

    [Fact]
    public void UnknownOpcodeIsInvalidCommandOperationCode()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run([0xC5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal((0x5, 0x2000), (s.Key, s.AscAscq));
        // SERVICE ACTION IN(16) with an unsupported service action: INVALID FIELD IN CDB at byte 1.
        s = Sense.Of(h.Run([0x9E, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], dataIn: 32));
        Assert.Equal((0x2400, 1), (s.AscAscq, s.FieldPointer));
    }

    [Fact]
    public void WritesToAReadOnlyStoreAreWriteProtected()
    {
        var h = new Harness(readOnly: true);
        foreach (var op in new byte[] { 0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E })
        {
            var s = Sense.Of(h.Run(Cdb.Block(op, 0, 1), dataOut: new byte[512]));
            Assert.Equal((0x7, 0x2700), (s.Key, s.AscAscq));
        }
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
        Assert.Equal(0, h.Store.Writes);
    }

    [Fact]
    public void SynchronizeCacheFlushesAndChecksItsRange()
    {
        var h = new Harness(blocks: 100);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x35, 0, 0)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x91, 10, 90)).Status);
        Assert.Equal(2, h.Store.Flushes);
        Assert.Equal(0x2100, Sense.Of(h.Run(Cdb.Block(0x35, 50, 51))).AscAscq);
        Assert.Equal(2, h.Store.Flushes);
    }

    [Fact]
    public void StoreFailuresBecomeSenseNotExceptions()
    {
        var h = new Harness();
        h.Store.FailNext = new IOException("disk gone");
        var s = Sense.Of(h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512));
        Assert.Equal((0x3, 0x1100), (s.Key, s.AscAscq)); // MEDIUM ERROR, UNRECOVERED READ ERROR
        h.Store.FailNext = new IOException("disk gone");
        s = Sense.Of(h.Run(Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]));
        Assert.Equal((0x3, 0x0C00), (s.Key, s.AscAscq)); // MEDIUM ERROR, WRITE ERROR
        h.Store.FailNext = new InvalidOperationException("bug");
        s = Sense.Of(h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512));
        Assert.Equal((0x4, 0x4400), (s.Key, s.AscAscq)); // HARDWARE ERROR, INTERNAL TARGET FAILURE
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
        Assert.Equal(0, h.Lu.Tasks.Count);
    }
}
