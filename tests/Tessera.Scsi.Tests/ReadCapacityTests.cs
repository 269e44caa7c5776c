using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

public class ReadCapacityTests
{
    [Fact]
    public void ReportsLastLbaAndBlockLength()
    {
        var h = new Harness(blocks: 4096, blockSize: 4096);
        var d = Harness.DataIn(h.Run(Cdb.ReadCapacity10(), dataIn: 8));
        Assert.Equal(4095u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
        var t = h.Run(Cdb.ReadCapacity16(), dataIn: 32);
        d = Harness.DataIn(t);
        Assert.Equal(4095UL, BinaryPrimitives.ReadUInt64BigEndian(d));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)));
        Assert.Equal(0, d[12]); // no protection
    }

    [Fact]
    public void AllocationLengthLimitsReadCapacity16()
    {
        var h = new Harness();
        var t = h.Run(Cdb.ReadCapacity16(allocation: 12), dataIn: 32);
        Assert.Equal((12, 12), (t.DataInLength, t.CommandTransferLength));
    }

    [Fact]
    public void LbaWithoutPmiIsInvalid()
    {
        var h = new Harness();
        var cdb = Cdb.ReadCapacity10();
        cdb[5] = 1;
        Assert.Equal(0x2400, Sense.Of(h.Run(cdb, dataIn: 8)).AscAscq);
    }
}
