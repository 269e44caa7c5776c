using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

public class ReportLunsTests
{
    private static ulong[] Luns(ScsiTask t)
    {
        var d = Harness.DataIn(t);
        int n = (int)BinaryPrimitives.ReadUInt32BigEndian(d) / 8;
        return Enumerable.Range(0, n).Select(i => BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8 + 8 * i))).ToArray();
    }

    [Fact]
    public void ListsEveryLunFromAnyLun()
    {
        var h = new Harness();
        h.Target.AddLogicalUnit(new LogicalUnit(300, Guid.NewGuid(), new MemoryBlockStore(16), new LocalLuContext()));
        var fromLu0 = h.Run(Cdb.ReportLuns(), dataIn: 4096);
        Assert.Equal(ScsiStatus.Good, fromLu0.Status);
        Assert.Equal(new[] { 0UL, 0x412C_0000_0000_0000UL }, Luns(fromLu0));
        Assert.Equal(24, fromLu0.CommandTransferLength);
        var fromMissing = h.Run(Cdb.ReportLuns(), dataIn: 4096, lun: 9);
        Assert.Equal(Luns(fromLu0), Luns(fromMissing));
        Assert.Equal(new ulong[] { 0, 300 }, h.Target.Luns);
    }

    [Fact]
    public void AllocationLengthBelow16IsInvalid()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(Cdb.ReportLuns(allocation: 15), dataIn: 15));
        Assert.Equal((0x2400, 6), (s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(Cdb.ReportLuns(select: 0x05), dataIn: 64));
        Assert.Equal((0x2400, 2), (s.AscAscq, s.FieldPointer));
    }

    [Fact]
    public void AddingAndRemovingLunsRaisesReportedLunsDataChangedOnEveryNexus()
    {
        var h = new Harness();
        h.Target.AddLogicalUnit(new LogicalUnit(1, Guid.NewGuid(), new MemoryBlockStore(16), new LocalLuContext()));
        foreach (var nexus in new[] { Harness.NexusA, Harness.NexusB })
        {
            var s = Sense.Of(h.Run(nexus, Cdb.TestUnitReady()));
            Assert.Equal((0x6, 0x3F0E), (s.Key, s.AscAscq));
        }
        // The new LU itself starts with a power-on condition for existing nexuses.
        Assert.Equal(0x2900, Sense.Of(h.Run(Cdb.TestUnitReady(), lun: 1)).AscAscq);

        // REPORT LUNS clears the condition for its nexus (SPC-5 6.33) without reporting it.
        Assert.True(h.Target.RemoveLogicalUnit(1));
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.ReportLuns(), dataIn: 64).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.TestUnitReady()).Status);
        Assert.Equal(0x3F0E, Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(0x2500, Sense.Of(h.Run(Cdb.TestUnitReady(), lun: 1)).AscAscq);
    }
}
