using System.Buffers.Binary;

namespace Tessera.Scsi.Tests.Sbc;

public class ThinProvisioningTests
{
    private static byte[] Filled(int bytes, byte value)
    {
        var b = new byte[bytes];
        b.AsSpan().Fill(value);
        return b;
    }

    private static (byte Key, ushort Asc) KeyAsc(ScsiTask t)
    {
        var s = Sense.Of(t);
        return (s.Key, s.AscAscq);
    }

    [Fact]
    public void ReadCapacity16ReportsLbpmeAndLbprzAndTheVpdPagesDescribeTheProvisioning()
    {
        var h = SbcHarness.Thin();
        var rc = Harness.DataIn(h.Run(Cdb.ReadCapacity16(), dataIn: 32));
        Assert.Equal(0xC0, rc[14] & 0xC0); // LBPME, LBPRZ
        Assert.Equal(0, rc[13] & 0x0F);    // LBPPBE 0: GET LBA STATUS reports per logical block

        var b2 = h.Vpd(0xB2);
        Assert.Equal((0xB2, 4), (b2[1], (int)BinaryPrimitives.ReadUInt16BigEndian(b2.AsSpan(2))));
        Assert.Equal(0x80 | 0x40 | 0x20 | 0x04, b2[5]); // LBPU, LBPWS, LBPWS10, LBPRZ 001b; ANC_SUP = 0, DP = 0
        Assert.Equal(0x02, b2[6] & 0x07);               // thin provisioned

        var b0 = h.Vpd(0xB0);
        Assert.Equal(0x3C, b0[3]);
        Assert.Equal(0, b0[4] & 1);                                             // WSNZ = 0
        Assert.Equal(255, b0[5]);                                               // MAXIMUM COMPARE AND WRITE LENGTH
        Assert.Equal(0xFFFF_FFFFu, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(20))); // MAXIMUM UNMAP LBA COUNT
        Assert.Equal(1024u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(24)));        // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(28)));           // OPTIMAL UNMAP GRANULARITY from the store
        Assert.Equal(0x8000_0000u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(32))); // UGAVALID, alignment 0
        Assert.Equal((ulong)h.Lu.MaximumTransferBlocks, BinaryPrimitives.ReadUInt64BigEndian(b0.AsSpan(36))); // MAXIMUM WRITE SAME LENGTH
        Assert.Equal(2048u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(44)));        // MAXIMUM ATOMIC TRANSFER LENGTH (1 MiB)
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(48)));           // ATOMIC ALIGNMENT (4 KiB)
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(52)));           // ATOMIC TRANSFER LENGTH GRANULARITY

        // The supported-pages list names B2h.
        var pages = h.Vpd(0x00);
        Assert.Contains((byte)0xB2, pages.AsSpan(4, pages[3]).ToArray());
    }

    [Fact]
    public void UnmapDeallocatesEveryDescriptorAndReadsReturnZeros()
    {
        var h = SbcHarness.Thin();
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 64), dataOut: Filled(64 * 512, 0xAB)).Status);
        var list = SbcCdb.UnmapList((0, 8), (32, 16), (63, 0));
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Unmap(list.Length), dataOut: list).Status);
        var store = h.Thin0;
        Assert.All(Enumerable.Range(0, 64), b => Assert.Equal(b is >= 8 and < 32 or >= 48, store.Mapped[b]));
        var data = Harness.DataIn(h.Run(Cdb.Block(0x28, 0, 64), dataIn: 64 * 512));
        Assert.True(data.AsSpan(0, 8 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(data.AsSpan(32 * 512, 16 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0xAB, data[8 * 512]);
        Assert.Equal(0xAB, data[48 * 512]);
    }

    [Fact]
    public void UnmapParameterListValidationUsesTheExactSenseAndChangesNothing()
    {
        var h = SbcHarness.Thin(blocks: 1024);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 16), dataOut: Filled(16 * 512, 1)).Status);
        int unmapsBefore = h.Thin0.Unmaps;

        // Empty list: nothing to do, not an error. A list shorter than its header: PARAMETER LIST LENGTH ERROR.
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Unmap(0)).Status);
        Assert.Equal(((byte)5, (ushort)0x1A00), KeyAsc(h.Run(SbcCdb.Unmap(6), dataOut: new byte[6])));

        // Header claims more descriptor bytes than the parameter list holds.
        var lying = SbcCdb.UnmapList((0, 1));
        BinaryPrimitives.WriteUInt16BigEndian(lying.AsSpan(2), 32);
        Assert.Equal(((byte)5, (ushort)0x1A00), KeyAsc(h.Run(SbcCdb.Unmap(lying.Length), dataOut: lying)));

        // The second descriptor runs past the end: LBA OUT OF RANGE, and the first one is not applied either.
        var outOfRange = SbcCdb.UnmapList((0, 4), (1020, 5));
        Assert.Equal(((byte)5, (ushort)0x2100), KeyAsc(h.Run(SbcCdb.Unmap(outOfRange.Length), dataOut: outOfRange)));
        Assert.True(h.Thin0.Mapped[0]);

        // More descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT: INVALID FIELD IN PARAMETER LIST.
        var many = SbcCdb.UnmapList(Enumerable.Range(0, 1025).Select(i => ((ulong)i % 1024, 0u)).ToArray());
        var s = Sense.Of(h.Run(SbcCdb.Unmap(many.Length), dataOut: many));
        Assert.Equal(((byte)5, (ushort)0x2600, false), (s.Key, s.AscAscq, s.CommandData));

        // ANCHOR = 1 with ANC_SUP = 0: INVALID FIELD IN CDB at byte 1 bit 0.
        var anchor = SbcCdb.UnmapList((0, 1));
        s = Sense.Of(h.Run(SbcCdb.Unmap(anchor.Length, anchor: true), dataOut: anchor));
        Assert.Equal((0x2400, 1, 0), (s.AscAscq, s.FieldPointer, s.BitPointer));

        // Data-Out shorter than PARAMETER LIST LENGTH.
        Assert.Equal(((byte)5, (ushort)0x0E03), KeyAsc(h.Run(SbcCdb.Unmap(24), dataOut: new byte[8])));

        Assert.Equal(unmapsBefore, h.Thin0.Unmaps);
        Assert.All(Enumerable.Range(0, 16), b => Assert.True(h.Thin0.Mapped[b]));
    }

    [Fact]
    public void UnmapOnAWriteProtectedLuIsDataProtect()
    {
        var store = new ThinMemoryStore(256) { IsReadOnly = true };
        var h = new SbcHarness(store);
        var list = SbcCdb.UnmapList((0, 1));
        Assert.Equal(((byte)7, (ushort)0x2700), KeyAsc(h.Run(SbcCdb.Unmap(list.Length), dataOut: list)));
        Assert.Equal(((byte)7, (ushort)0x2700), KeyAsc(h.Run(SbcCdb.WriteSame16(0, 1, unmap: true), dataOut: new byte[512])));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteSameWritesTheBlockToEveryLba(bool sixteen)
    {
        var h = SbcHarness.Thin();
        var block = new byte[512];
        Random.Shared.NextBytes(block);
        var cdb = sixteen ? SbcCdb.WriteSame16(100, 300) : SbcCdb.WriteSame10(100, 300);
        var t = h.Run(cdb, dataOut: block);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(512, t.CommandTransferLength);
        for (int b = 100; b < 400; b++) Assert.True(h.Thin0.Data.AsSpan(b * 512, 512).SequenceEqual(block));
        Assert.True(h.Thin0.Data.AsSpan(99 * 512, 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(h.Thin0.Data.AsSpan(400 * 512, 512).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void WriteSameWithUnmapDeallocatesAndNdobWritesZerosWithoutDataOut()
    {
        var h = SbcHarness.Thin();
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 64), dataOut: Filled(64 * 512, 0xFF)).Status);
        // UNMAP = 1 deallocates whatever the block holds (reads then return zeros, LBPRZ).
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteSame10(0, 16, unmap: true), dataOut: Filled(512, 0xFF)).Status);
        Assert.All(Enumerable.Range(0, 64), b => Assert.Equal(b >= 16, h.Thin0.Mapped[b]));
        Assert.True(Harness.DataIn(h.Run(Cdb.Block(0x28, 0, 16), dataIn: 16 * 512)).AsSpan().IndexOfAnyExcept((byte)0) < 0);
        // NDOB + UNMAP: no Data-Out at all.
        var t = h.Run(SbcCdb.WriteSame16(16, 16, unmap: true, ndob: true));
        Assert.Equal((ScsiStatus.Good, 0), (t.Status, t.CommandTransferLength));
        Assert.All(Enumerable.Range(16, 16), b => Assert.False(h.Thin0.Mapped[b]));
        // NDOB without UNMAP writes zeros (the blocks stay mapped).
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteSame16(32, 8, ndob: true)).Status);
        Assert.All(Enumerable.Range(32, 8), b => Assert.True(h.Thin0.Mapped[b]));
        Assert.True(h.Thin0.Data.AsSpan(32 * 512, 8 * 512).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void WriteSameZeroBlocksMeansToTheEndBoundedByMaximumWriteSameLength()
    {
        var h = SbcHarness.Thin(blocks: 100_000);
        int max = h.Lu.MaximumTransferBlocks; // 16384 for 512-byte blocks
        // From LBA 0 the rest of the LU is longer than the maximum: INVALID FIELD IN CDB at the length field.
        var s = Sense.Of(h.Run(SbcCdb.WriteSame16(0, 0), dataOut: new byte[512]));
        Assert.Equal((0x2400, 10), (s.AscAscq, s.FieldPointer));
        s = Sense.Of(h.Run(SbcCdb.WriteSame10(0, 0), dataOut: new byte[512]));
        Assert.Equal((0x2400, 7), (s.AscAscq, s.FieldPointer));
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.WriteSame16((ulong)(100_000 - max - 1), 0), dataOut: new byte[512])).AscAscq);
        var block = Filled(512, 0x5A);
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteSame16((ulong)(100_000 - max), 0), dataOut: block).Status);
        Assert.Equal(0x5A, h.Thin0.Data[(100_000 - max) * 512]);
        Assert.Equal(0x5A, h.Thin0.Data[^1]);
        Assert.Equal(0, h.Thin0.Data[(100_000 - max - 1) * 512]);
        // Beyond the end: LBA OUT OF RANGE, also with 0 blocks.
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.WriteSame16(100_001, 0), dataOut: block)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.WriteSame16(99_999, 2), dataOut: block)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.WriteSame16(ulong.MaxValue, 1), dataOut: block)).AscAscq);
    }

    [Fact]
    public void WriteSameRejectsAnchorProtectionAndWrongDataOutSizes()
    {
        var h = SbcHarness.Thin();
        var s = Sense.Of(h.Run(SbcCdb.WriteSame10(0, 1, anchor: true), dataOut: new byte[512]));
        Assert.Equal((0x2400, 1, 4), (s.AscAscq, s.FieldPointer, s.BitPointer));
        s = Sense.Of(h.Run(SbcCdb.WriteSame16(0, 1, unmap: true, anchor: true), dataOut: new byte[512]));
        Assert.Equal((0x2400, 1, 4), (s.AscAscq, s.FieldPointer, s.BitPointer));
        var wrprotect = SbcCdb.WriteSame16(0, 1);
        wrprotect[1] |= 0x20;
        Assert.Equal((0x2400, 1), (Sense.Of(h.Run(wrprotect, dataOut: new byte[512])).AscAscq, Sense.Of(h.Run(wrprotect, dataOut: new byte[512])).FieldPointer));
        // Half a block and two blocks of Data-Out for one block: both refused, nothing written.
        int writes = h.Thin0.Writes;
        Assert.Equal(((byte)5, (ushort)0x0E03), KeyAsc(h.Run(SbcCdb.WriteSame10(0, 1, unmap: true), dataOut: new byte[256])));
        Assert.Equal(((byte)5, (ushort)0x0E03), KeyAsc(h.Run(SbcCdb.WriteSame16(0, 1), dataOut: new byte[1024])));
        Assert.Equal(((byte)5, (ushort)0x0E03), KeyAsc(h.Run(SbcCdb.WriteSame16(0, 1, ndob: true), dataOut: new byte[512])));
        Assert.Equal(writes, h.Thin0.Writes);
        Assert.Equal(0, h.Thin0.Unmaps);
    }

    [Fact]
    public void GetLbaStatusReportsTheStoreRunsFromTheStartingLba()
    {
        var h = SbcHarness.Thin(blocks: 1024);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 10, 20), dataOut: Filled(20 * 512, 1)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 100, 1), dataOut: Filled(512, 1)).Status);
        var t = h.Run(SbcCdb.GetLbaStatus(5), dataIn: 4096);
        var d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(t));
        Assert.Equal([(5ul, 5u, 1), (10ul, 20u, 0), (30ul, 70u, 1), (100ul, 1u, 0), (101ul, 923u, 1)], d);
        Assert.Equal(8 + 5 * 16, t.CommandTransferLength);

        // A 24-byte allocation (libiscsi) gets exactly the first descriptor, starting at the requested LBA.
        var one = Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(15, 24), dataIn: 24));
        Assert.Equal(20u, BinaryPrimitives.ReadUInt32BigEndian(one));
        Assert.Equal([(15ul, 15u, 0)], SbcCdb.LbaStatusDescriptors(one));

        // The last LBA is fine; the capacity and beyond are LBA OUT OF RANGE.
        Assert.Equal([(1023ul, 1u, 1)], SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(1023), dataIn: 4096))));
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.GetLbaStatus(1024), dataIn: 24)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.GetLbaStatus(1UL << 63), dataIn: 24)).AscAscq);
        Assert.Equal(0x2100, Sense.Of(h.Run(SbcCdb.GetLbaStatus(ulong.MaxValue), dataIn: 24)).AscAscq);
    }

    /// <summary>A store reporting one deallocated run longer than 2^32 - 1 blocks.</summary>
    private sealed class HugeEmptyStore : IBlockStore
    {
        public int BlockSize => 512;
        public long BlockCount => (1L << 33) + 10;
        public bool IsReadOnly => false;
        public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default) { destination.Span.Clear(); return default; }
        public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default) => default;
        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;
        public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default) => default;
        public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default) => new(-1);
        public ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default) => new(new LbaStatusRun(lba, BlockCount - lba, false));
    }

    [Fact]
    public void GetLbaStatusSplitsRunsLongerThanTheDescriptorField()
    {
        var h = new SbcHarness(new HugeEmptyStore());
        var d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(0), dataIn: 4096)));
        Assert.Equal([(0ul, uint.MaxValue, 1), ((ulong)uint.MaxValue, uint.MaxValue, 1), (2ul * uint.MaxValue, 12u, 1)], d);
        Assert.Equal(1u, h.Vpd(0xB0).AsSpan(28, 4)[3]); // a store without the member reports granularity 1 (default)
    }
}
