using System.Buffers.Binary;

namespace Tessera.Scsi.Tests.Sbc;

public class DiskCommandTests
{
    private static byte[] PreFetch10(uint lba, ushort blocks, bool immed = false, byte group = 0) =>
        [0x34, (byte)(immed ? 2 : 0), (byte)(lba >> 24), (byte)(lba >> 16), (byte)(lba >> 8), (byte)lba, group, (byte)(blocks >> 8), (byte)blocks, 0];

    [Fact]
    public void PreFetchChecksTheRangeAndReturnsGood()
    {
        var h = SbcHarness.Thin(blocks: 1024);
        Assert.Equal(ScsiStatus.Good, h.Run(PreFetch10(0, 256)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(PreFetch10(1000, 24, immed: true, group: 3)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(PreFetch10(1024, 0)).Status);
        Assert.Equal(0x2100, Sense.Of(h.Run(PreFetch10(1025, 0))).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(PreFetch10(1023, 2))).AscAscq);
        var p16 = Cdb.Block(0x90, ulong.MaxValue, 1);
        Assert.Equal(0x2100, Sense.Of(h.Run(p16)).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x90, 10, 10, byte1: 0x02)).Status);
        Assert.Equal(0x2400, Sense.Of(h.Run(Cdb.Block(0x90, 10, 10, byte1: 0x01))).AscAscq); // reserved bit
    }

    [Fact]
    public void ReadDefectDataReportsEmptyListsInTheRequestedFormat()
    {
        var h = SbcHarness.Thin();
        var t = h.Run([0x37, 0, 0x18 | 0x05, 0, 0, 0, 0, 0, 32, 0], dataIn: 32);
        Assert.Equal([0x00, 0x1D, 0x00, 0x00], Harness.DataIn(t));
        t = h.Run([0xB7, 0x04, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], dataIn: 32);
        Assert.Equal([0x00, 0x04, 0, 0, 0, 0, 0, 0], Harness.DataIn(t));
        Assert.Equal(2, Harness.DataIn(h.Run([0x37, 0, 0, 0, 0, 0, 0, 0, 2, 0], dataIn: 32)).Length); // allocation length
        Assert.Equal(0x2400, Sense.Of(h.Run([0x37, 0x01, 0, 0, 0, 0, 0, 0, 32, 0], dataIn: 32)).AscAscq);
    }

    [Fact]
    public void StartStopUnitFlushesOnStopAcceptsPowerConditionsAndRefusesEject()
    {
        var h = SbcHarness.Thin();
        int flushes = h.Thin0.Flushes;
        Assert.Equal(ScsiStatus.Good, h.Run([0x1B, 0, 0, 0, 0x00, 0]).Status); // stop: flush
        Assert.Equal(flushes + 1, h.Thin0.Flushes);
        Assert.Equal(ScsiStatus.Good, h.Run([0x1B, 1, 0, 0, 0x04, 0]).Status); // stop, NO_FLUSH
        Assert.Equal(flushes + 1, h.Thin0.Flushes);
        Assert.Equal(ScsiStatus.Good, h.Run([0x1B, 0, 0, 0, 0x01, 0]).Status); // start
        Assert.Equal(ScsiStatus.Good, h.Run([0x1B, 0, 0, 0, 0x03, 0]).Status); // load (LOEJ + START): already loaded
        var s = Sense.Of(h.Run([0x1B, 0, 0, 0, 0x02, 0]));                     // eject a non-removable medium
        Assert.Equal((0x2400, 4, 1), (s.AscAscq, s.FieldPointer, s.BitPointer));
        foreach (byte pc in new byte[] { 1, 2, 3, 7, 0xA, 0xB })
            Assert.Equal(ScsiStatus.Good, h.Run([0x1B, 0, 0, 0, (byte)(pc << 4 | 0x02), 0]).Status); // LOEJ ignored with a power condition
        foreach (byte pc in new byte[] { 4, 5, 6, 8, 9, 0xC, 0xF })
            Assert.Equal((0x2400, 4), (Sense.Of(h.Run([0x1B, 0, 0, 0, (byte)(pc << 4), 0])).AscAscq, Sense.Of(h.Run([0x1B, 0, 0, 0, (byte)(pc << 4), 0])).FieldPointer));
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
    }
}
