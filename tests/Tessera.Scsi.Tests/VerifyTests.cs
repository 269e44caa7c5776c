namespace Tessera.Scsi.Tests;

public class VerifyTests
{
    private static Harness WithData(out byte[] data)
    {
        var h = new Harness();
        data = new byte[8 * 512];
        Random.Shared.NextBytes(data);
        data.CopyTo(h.Store.Data, 16 * 512);
        return h;
    }

    [Theory]
    [InlineData(0x2F)] [InlineData(0xAF)] [InlineData(0x8F)]
    public void ByteCheckComparesAndReportsTheFirstDifference(byte opcode)
    {
        var h = WithData(out var data);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(opcode, 16, 8, byte1: 0x02), dataOut: data).Status);
        var changed = (byte[])data.Clone();
        changed[1234] ^= 0xFF;
        var t = h.Run(Cdb.Block(opcode, 16, 8, byte1: 0x02), dataOut: changed);
        var s = Sense.Of(t);
        Assert.Equal((0xE, 0x1D00, 1234L), (s.Key, s.AscAscq, s.Information));
        Assert.Equal(8 * 512, t.CommandTransferLength);
        // BYTCHK = 0: the medium is only checked, the data does not matter.
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(opcode, 16, 8, byte1: 0x10)).Status);
        Assert.Equal(0, h.Run(Cdb.Block(opcode, 16, 8)).CommandTransferLength);
    }

    [Fact]
    public void ByteCheck11ComparesOneBlockWithEveryBlock()
    {
        var h = new Harness();
        var block = new byte[512];
        block.AsSpan().Fill(7);
        for (int i = 0; i < 4; i++) block.CopyTo(h.Store.Data, (100 + i) * 512);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2F, 100, 4, byte1: 0x06), dataOut: block).Status);
        h.Store.Data[102 * 512 + 5] = 0;
        var s = Sense.Of(h.Run(Cdb.Block(0x2F, 100, 4, byte1: 0x06), dataOut: block));
        Assert.Equal((0x1D00, 2L * 512 + 5), (s.AscAscq, s.Information));
    }

    [Fact]
    public void ReservedByteCheckOutOfRangeAndProtection()
    {
        var h = new Harness(blocks: 64);
        var s = Sense.Of(h.Run(Cdb.Block(0x2F, 0, 1, byte1: 0x04), dataOut: new byte[512]));
        Assert.Equal((0x2400, 1, 2), (s.AscAscq, s.FieldPointer, s.BitPointer));
        Assert.Equal(0x2100, Sense.Of(h.Run(Cdb.Block(0x2F, 63, 2))).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(Cdb.Block(0x2F, 0, 1, byte1: 0x20))).AscAscq); // VRPROTECT
    }

    [Fact]
    public void MiscompareOffsetsBeyondFourGigabytesUseTheDescriptorFormat()
    {
        Span<byte> sense = stackalloc byte[64];
        int n = SenseData.Write(sense, descriptor: false, SenseKey.Miscompare, Asc.MiscompareDuringVerifyOperation, information: 1L << 33);
        Assert.Equal(0, sense[0] & 0x80); // VALID clear: it does not fit
        n = SenseData.Write(sense, descriptor: true, SenseKey.Miscompare, Asc.MiscompareDuringVerifyOperation, information: 1L << 33);
        Assert.Equal(1L << 33, Sense.Parse(sense[..n]).Information);
    }

    [Theory]
    [InlineData(0x2E)] [InlineData(0xAE)] [InlineData(0x8E)]
    public void WriteAndVerifyWritesDurablyAndChecks(byte opcode)
    {
        var h = new Harness();
        var data = new byte[2 * 512];
        Random.Shared.NextBytes(data);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(opcode, 40, 2, byte1: 0x02), dataOut: data).Status);
        Assert.Equal(WriteFlags.Fua, h.Store.LastWriteFlags);
        Assert.Equal(data, h.Store.Data.AsSpan(40 * 512, data.Length).ToArray());
        var s = Sense.Of(h.Run(Cdb.Block(opcode, 40, 2, byte1: 0x04), dataOut: data));
        Assert.Equal((0x2400, 1), (s.AscAscq, s.FieldPointer));
    }
}
