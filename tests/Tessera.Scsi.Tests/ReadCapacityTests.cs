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
        Assert.Equal(0, d[13]); // one logical block per physical block by default
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(14)) & 0x3FFF); // lowest aligned LBA 0
    }

    [Theory]
    [InlineData(512, 4096, 3)]
    [InlineData(512, 65536, 7)]
    [InlineData(4096, 16384, 2)]
    public void ReportsLogicalBlocksPerPhysicalBlockExponent(int blockSize, int physicalBlockSize, int exponent)
    {
        var h = new Harness(blockSize: blockSize, physicalBlockSize: physicalBlockSize);
        Assert.Equal(physicalBlockSize, h.Lu.PhysicalBlockSize);
        var d = Harness.DataIn(h.Run(Cdb.ReadCapacity16(), dataIn: 32));
        Assert.Equal((uint)blockSize, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)));
        Assert.Equal(exponent, d[13] & 0x0F);
        Assert.Equal(0, d[13] >> 4);                                                    // P_I_EXPONENT
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(14)) & 0x3FFF); // lowest aligned LBA 0
        Assert.Equal(0xC0, d[14] & 0xC0);                                               // LBPME, LBPRZ unchanged
    }

    [Fact]
    public void BlockLimitsGranularitiesCoverAWholePhysicalBlock()
    {
        var h = new Harness(physicalBlockSize: 65536);
        var b0 = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0xB0), dataIn: 255));
        Assert.Equal(128, BinaryPrimitives.ReadUInt16BigEndian(b0.AsSpan(6)));  // OPTIMAL TRANSFER LENGTH GRANULARITY
        Assert.Equal(128u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(28))); // OPTIMAL UNMAP GRANULARITY
        Assert.Equal(0x8000_0000u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(32))); // UGAVALID, alignment 0
    }

    [Theory]
    [InlineData(512, 256)]
    [InlineData(512, 1536)]
    [InlineData(4096, 2048)]
    [InlineData(512, 512 << 16)]
    public void PhysicalBlockSizeMustBeAPowerOfTwoMultipleOfTheBlockSize(int blockSize, int physicalBlockSize)
    {
        var store = new MemoryBlockStore(64, blockSize, false);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new LogicalUnit(0, Guid.NewGuid(), store, new LocalLuContext(null)) { PhysicalBlockSize = physicalBlockSize });
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
