namespace Tessera.Scsi.Tests;

/// <summary>iSCSI EDTL ≠ CDB transfer length, as libiscsi's iSCSIResiduals and Read10Invalid suites drive it.</summary>
public class ResidualTests
{
    [Theory]
    [InlineData(0, 0)]       // EDTL 0: nothing moves, overflow of one block
    [InlineData(200, 200)]   // part of a block
    [InlineData(10000, 512)] // more than asked: one block, underflow
    public void ReadOfOneBlock(int edtl, int produced)
    {
        var h = new Harness();
        h.Store.Data.AsSpan(0, 512).Fill(0x5A);
        var t = h.Run(Cdb.Block(0x28, 0, 1), dataIn: edtl);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(512, t.CommandTransferLength);
        Assert.Equal(produced, t.DataInLength);
        Assert.All(Harness.DataIn(t), b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public void ReadOfTwoBlocksIntoOne()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Block(0x28, 0, 2), dataIn: 512);
        Assert.Equal((ScsiStatus.Good, 1024, 512), (t.Status, t.CommandTransferLength, t.DataInLength));
    }

    [Theory]
    [InlineData(0x2A, 1, 0)]
    [InlineData(0x2A, 2, 512)]
    [InlineData(0x2A, 1, 200)]
    [InlineData(0x2A, 3, 1000)]
    [InlineData(0xAA, 2, 512)]
    [InlineData(0x8A, 2, 512)]
    [InlineData(0x2E, 2, 512)]
    [InlineData(0x2E, 1, 200)]
    public void WriteWithLessDataThanTheCdbWritesOnlyWhatArrived(byte opcode, uint blocks, int edtl)
    {
        var h = new Harness();
        h.Store.Data.AsSpan(0, 2048).Fill((byte)'a');
        var data = new byte[edtl];
        data.AsSpan().Fill((byte)'b');
        var t = h.Run(Cdb.Block(opcode, 0, blocks), dataOut: data);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal((int)blocks * 512, t.CommandTransferLength); // the transport reports the overflow
        Assert.All(h.Store.Data.AsSpan(0, edtl).ToArray(), b => Assert.Equal((byte)'b', b));
        Assert.All(h.Store.Data.AsSpan(edtl, 2048 - edtl).ToArray(), b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public void ParameterDataShorterThanTheCdbSaysIsInvalidFieldInCommandInformationUnit()
    {
        var h = new Harness();
        var t = h.Run(Cdb.ModeSelect6(16), dataOut: new byte[8]);
        Assert.Equal((0x5, 0x0E03), (Sense.Of(t).Key, Sense.Of(t).AscAscq));
        Assert.Equal(16, t.CommandTransferLength);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(10000)]
    public void WriteWithMoreDataThanTheCdbWritesOnlyTheCdbLength(int edtl)
    {
        var h = new Harness();
        h.Store.Data.AsSpan(0, 20 * 512).Fill((byte)'a');
        var data = new byte[edtl];
        data.AsSpan().Fill((byte)'b');
        var t = h.Run(Cdb.Block(0x2A, 0, 1), dataOut: data);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(512, t.CommandTransferLength);
        Assert.All(h.Store.Data.AsSpan(0, 512).ToArray(), b => Assert.Equal((byte)'b', b));
        Assert.All(h.Store.Data.AsSpan(512, 19 * 512).ToArray(), b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public void ModeSenseWithSmallAllocationHasNoOverflow()
    {
        var h = new Harness();
        var t = h.Run(Cdb.ModeSense6(0x3F, allocation: 4), dataIn: 4);
        Assert.Equal((ScsiStatus.Good, 4, 4), (t.Status, t.DataInLength, t.CommandTransferLength));
        var all = h.Run(Cdb.ModeSense6(0x3F, allocation: 255), dataIn: 255);
        Assert.True(all.CommandTransferLength < 255); // underflow: the transport reports 255 - this
        Assert.Equal(all.CommandTransferLength, all.DataInLength);
    }
}
