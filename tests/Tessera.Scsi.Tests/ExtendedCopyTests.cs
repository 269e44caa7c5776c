using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

/// <summary>EXTENDED COPY (LID1) and RECEIVE COPY RESULTS.</summary>
public class ExtendedCopyTests
{
    private static void Fill(MemoryBlockStore store, long lba, int blocks, byte seed)
    {
        for (int i = 0; i < blocks * store.BlockSize; i++) store.Data[lba * store.BlockSize + i] = (byte)(seed + i * 7 + i / store.BlockSize);
    }

    private static byte[] Blocks(MemoryBlockStore store, long lba, int blocks) =>
        store.Data.AsSpan((int)(lba * store.BlockSize), blocks * store.BlockSize).ToArray();

    private static ScsiTask Copy(Harness h, byte[] parameters, ItNexus? nexus = null) =>
        h.Run(nexus ?? Harness.NexusA, SpcCdb.ExtendedCopy(parameters.Length), dataOut: parameters);

    private static byte[] SelfCopy(Harness h, ushort blocks, ulong from, ulong to, byte listId = 1, int usage = 0) =>
        SpcCdb.CopyParameters(listId, usage, [SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h))], [SpcCdb.BlockToBlock(0, 0, blocks, from, to)]);

    [Fact]
    public void CopiesBlocksInsideTheLogicalUnit()
    {
        var h = new Harness(blocks: 8192);
        Fill(h.Store, 0, 2048, 0x11);
        var before = Blocks(h.Store, 0, 2048);
        var t = Copy(h, SelfCopy(h, 2048, 0, 8192 - 2048));
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(before, Blocks(h.Store, 8192 - 2048, 2048));
        Assert.Equal(before, Blocks(h.Store, 0, 2048)); // source untouched
        Assert.Equal(0, t.DataInLength);                // no data crossed the host
    }

    [Fact]
    public void OverlappingRangesCopyAsIfReadFirst()
    {
        var h = new Harness(blocks: 8192);
        Fill(h.Store, 0, 4096, 0x21);
        var before = Blocks(h.Store, 0, 4096);
        // destination starts inside the source and the range spans several 1 MiB chunks
        Assert.Equal(ScsiStatus.Good, Copy(h, SelfCopy(h, 4096, 0, 100)).Status);
        Assert.Equal(before, Blocks(h.Store, 100, 4096));

        Fill(h.Store, 1000, 4096, 0x33);
        before = Blocks(h.Store, 1000, 4096);
        Assert.Equal(ScsiStatus.Good, Copy(h, SelfCopy(h, 4096, 1000, 900)).Status);
        Assert.Equal(before, Blocks(h.Store, 900, 4096));
    }

    [Fact]
    public void CopiesBetweenLogicalUnitsOfTheTargetWithDifferentBlockSizes()
    {
        var h = new Harness(blocks: 4096);
        var other = new MemoryBlockStore(1024, 4096);
        var lu1 = new LogicalUnit(1, Guid.Parse("11111111-2222-3333-4444-555555555555"), other, new LocalLuContext(null));
        h.Target.AddLogicalUnit(lu1);
        h.ClearUnitAttentions(Harness.NexusA, lun: 1);
        h.ClearUnitAttentions(Harness.NexusA, lun: 0);
        Fill(h.Store, 64, 80, 0x42);
        var cscds = new[]
        {
            SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h, lun: 0), 512),
            SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h, lun: 1), 4096),
        };
        // 80 source blocks of 512 = 10 destination blocks of 4096, addressed from LU 1 (the copy manager
        // need not be the source or the destination)
        var p = SpcCdb.CopyParameters(7, 0, cscds, [SpcCdb.BlockToBlock(0, 1, 80, 64, 3)]);
        var t = h.Run(Harness.NexusA, SpcCdb.ExtendedCopy(p.Length), dataOut: p, lun: 1);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(Blocks(h.Store, 64, 80), Blocks(other, 3, 10));

        // DC = 1: the count is in destination blocks: 2 blocks of 4096 = 16 source blocks of 512
        Fill(h.Store, 200, 16, 0x43);
        p = SpcCdb.CopyParameters(8, 0, cscds, [SpcCdb.BlockToBlock(0, 1, 2, 200, 20, dc: true)]);
        Assert.Equal(ScsiStatus.Good, h.Run(SpcCdb.ExtendedCopy(p.Length), dataOut: p).Status);
        Assert.Equal(Blocks(h.Store, 200, 16), Blocks(other, 20, 2));
        // and back, counted in source blocks
        p = SpcCdb.CopyParameters(10, 0, cscds, [SpcCdb.BlockToBlock(1, 0, 1, 20, 1000)]);
        Assert.Equal(ScsiStatus.Good, h.Run(SpcCdb.ExtendedCopy(p.Length), dataOut: p).Status);
        Assert.Equal(Blocks(other, 20, 1), Blocks(h.Store, 1000, 8));

        // 3 source blocks of 512 cannot fill whole 4096-byte blocks
        p = SpcCdb.CopyParameters(9, 0, cscds, [SpcCdb.BlockToBlock(0, 1, 3, 0, 0)]);
        var s = Sense.Of(h.Run(SpcCdb.ExtendedCopy(p.Length), dataOut: p));
        Assert.Equal((byte)SenseKey.CopyAborted, s.Key);
        Assert.Equal(ExtendedCopy.UnexpectedInexactSegment, s.AscAscq);
    }

    [Fact]
    public void SegmentsRunInOrderAndAFailingSegmentIsNamedInTheSense()
    {
        var h = new Harness(blocks: 2048);
        Fill(h.Store, 0, 16, 0x55);
        var naa = SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h));
        var p = SpcCdb.CopyParameters(3, 0, [naa],
            [SpcCdb.BlockToBlock(0, 0, 8, 0, 100), SpcCdb.BlockToBlock(0, 0, 8, 8, 108), SpcCdb.BlockToBlock(0, 0, 8, 0, 2047)]);
        var t = Copy(h, p);
        var s = Sense.Of(t);
        Assert.Equal((byte)SenseKey.CopyAborted, s.Key);
        Assert.Equal(Asc.NoAdditionalSenseInformation, s.AscAscq);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(t.Sense[8..])); // COMMAND-SPECIFIC INFORMATION: segment 2
        Assert.Equal(Blocks(h.Store, 0, 16), Blocks(h.Store, 100, 16));          // segments 0 and 1 were copied

        var status = Harness.DataIn(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 3), dataIn: 1024));
        Assert.Equal(0x02, status[4] & 0x7F);                               // completed with errors
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(status.AsSpan(5))); // segments processed
        Assert.Equal(16u * 512, BinaryPrimitives.ReadUInt32BigEndian(status.AsSpan(8)));
    }

    [Fact]
    public void CopyAbortedInDescriptorFormatCarriesACommandSpecificDescriptor()
    {
        var h = new Harness();
        var control = Harness.DataIn(h.Run(Cdb.ModeSense6(0x0A, dbd: true), dataIn: 255));
        var select = new byte[4 + control[0] - 3];
        Array.Copy(control, 4, select, 4, select.Length - 4);
        select[4] &= 0x7F;
        select[6] |= 0x04; // D_SENSE
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(select.Length), dataOut: select).Status);
        var t = Copy(h, SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h))], [SpcCdb.BlockToBlock(0, 1, 1, 0, 0)]));
        var sense = t.Sense.ToArray();
        Assert.Equal(0x72, sense[0]);
        Assert.Equal((byte)SenseKey.CopyAborted, sense[1]);
        Assert.Equal(0x08, sense[2]); Assert.Equal(0x04, sense[3]); // UNREACHABLE COPY TARGET
        Assert.Equal(sense.Length - 8, sense[7]);
        Assert.Equal(0x01, sense[8]);                                 // command-specific information descriptor
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64BigEndian(sense.AsSpan(12)));
    }

    [Fact]
    public void ParameterListLengthZeroIsNotAnError()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ExtendedCopy(0));
        Assert.Equal(ScsiStatus.Good, t.Status);
    }

    [Fact]
    public void TruncatedParameterListsAreLengthErrors()
    {
        var h = new Harness();
        var p = SelfCopy(h, 16, 0, 100);
        foreach (int cut in new[] { 15, 16 + 31, 16 + 32 + 27 })
        {
            var s = Sense.Of(h.Run(SpcCdb.ExtendedCopy(cut), dataOut: p[..cut]));
            Assert.Equal(Asc.ParameterListLengthError, s.AscAscq);
        }
        // a CDB promising more than arrives is a transport-level shortfall
        var shortData = Sense.Of(h.Run(SpcCdb.ExtendedCopy(p.Length), dataOut: p[..20]));
        Assert.Equal(Asc.InvalidFieldInCommandInformationUnit, shortData.AscAscq);
    }

    [Fact]
    public void DescriptorLimitsAreEnforced()
    {
        var h = new Harness();
        var naa = SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h));
        var seg = SpcCdb.BlockToBlock(0, 0, 1, 0, 1);
        var tooManyTargets = SpcCdb.CopyParameters(1, 0, Enumerable.Repeat(naa, CopyManager.MaxCscdDescriptors + 1).ToArray(), [seg]);
        Assert.Equal(ExtendedCopy.TooManyTargetDescriptors, Sense.Of(Copy(h, tooManyTargets)).AscAscq);
        var tooManySegments = SpcCdb.CopyParameters(1, 0, [naa], Enumerable.Repeat(seg, CopyManager.MaxSegmentDescriptors + 1).ToArray());
        Assert.Equal(ExtendedCopy.TooManySegmentDescriptors, Sense.Of(Copy(h, tooManySegments)).AscAscq);
        int segments = CopyManager.MaxDescriptorListLength / 28 + 1;
        var tooLong = SpcCdb.CopyParameters(1, 0, [naa], Enumerable.Repeat(seg, segments).ToArray());
        Assert.Equal(Asc.ParameterListLengthError, Sense.Of(Copy(h, tooLong)).AscAscq);
        var exactlyMax = SpcCdb.CopyParameters(1, 0, Enumerable.Repeat(naa, CopyManager.MaxCscdDescriptors).ToArray(),
            Enumerable.Repeat(seg, CopyManager.MaxSegmentDescriptors).ToArray());
        Assert.Equal(ScsiStatus.Good, Copy(h, exactlyMax).Status);
    }

    [Fact]
    public void UnsupportedDescriptorTypesAreRejected()
    {
        var h = new Harness();
        var designator = SpcCdb.NaaDesignator(h);
        var fc = SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(designator, type: 0xE0)], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)]);
        var s = Sense.Of(Copy(h, fc));
        Assert.Equal(ExtendedCopy.UnsupportedTargetDescriptorTypeCode, s.AscAscq);
        Assert.Equal(16, s.FieldPointer);

        var streamSegment = new byte[20];
        streamSegment[0] = 0x03; streamSegment[3] = 0x10;
        var p = SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(designator)], [streamSegment]);
        s = Sense.Of(Copy(h, p));
        Assert.Equal(ExtendedCopy.UnsupportedSegmentDescriptorTypeCode, s.AscAscq);
        Assert.Equal(48, s.FieldPointer);

        var tape = SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(designator, deviceType: 0x01)], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)]);
        Assert.Equal(ExtendedCopy.UnsupportedTargetDescriptorTypeCode, Sense.Of(Copy(h, tape)).AscAscq);
    }

    [Fact]
    public void ForeignOrMalformedIdentificationIsUnreachable()
    {
        var h = new Harness();
        var designator = SpcCdb.NaaDesignator(h);
        var foreign = (byte[])designator.Clone();
        foreign[^1] ^= 0xFF;
        var s = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(foreign)], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)])));
        Assert.Equal((byte)SenseKey.CopyAborted, s.Key);
        Assert.Equal(ExtendedCopy.UnreachableCopyTarget, s.AscAscq);

        var portAssociation = (byte[])designator.Clone();
        portAssociation[1] |= 0x10; // association: target port
        s = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(portAssociation)], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)])));
        Assert.Equal(ExtendedCopy.UnreachableCopyTarget, s.AscAscq);

        // the block length in the descriptor must be the LU's
        s = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(designator, blockSize: 4096)], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)])));
        Assert.Equal(Asc.InvalidFieldInParameterList, s.AscAscq);
        Assert.Equal(16 + 29, s.FieldPointer);
    }

    [Fact]
    public void LuIdTypeIsIgnoredAsInSpc4()
    {
        var h = new Harness();
        var p = SelfCopy(h, 4, 0, 8);
        p[16 + 1] |= 0x80; // LU ID TYPE 10b
        Assert.Equal(ScsiStatus.Good, Copy(h, p).Status);
    }

    [Fact]
    public void BadIndexOrRangeIsCopyAborted()
    {
        var h = new Harness(blocks: 4096);
        var naa = SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h));
        var badIndex = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [naa], [SpcCdb.BlockToBlock(0, 1, 2048, 0, 2048)])));
        Assert.Equal((byte)SenseKey.CopyAborted, badIndex.Key);
        Assert.Equal(ExtendedCopy.UnreachableCopyTarget, badIndex.AscAscq);
        var beyond = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [naa], [SpcCdb.BlockToBlock(0, 0, 2048, 0, 4095)])));
        Assert.Equal((byte)SenseKey.CopyAborted, beyond.Key);
        Assert.Equal(Asc.NoAdditionalSenseInformation, beyond.AscAscq);
        var beyondSource = Sense.Of(Copy(h, SpcCdb.CopyParameters(1, 0, [naa], [SpcCdb.BlockToBlock(0, 0, 1, 4096, 0)])));
        Assert.Equal((byte)SenseKey.CopyAborted, beyondSource.Key);
    }

    [Fact]
    public void HeaderFieldsAreValidated()
    {
        var h = new Harness();
        var p = SelfCopy(h, 1, 0, 1, listId: 5, usage: 0b01); // reserved LIST ID USAGE
        var s = Sense.Of(Copy(h, p));
        Assert.Equal(Asc.InvalidFieldInParameterList, s.AscAscq);
        Assert.Equal(1, s.FieldPointer);
        p = SelfCopy(h, 1, 0, 1, listId: 5, usage: 0b11); // list identifier not used must be zero
        s = Sense.Of(Copy(h, p));
        Assert.Equal(Asc.InvalidFieldInParameterList, s.AscAscq);
        Assert.Equal(0, s.FieldPointer);
        p = SelfCopy(h, 1, 0, 1, listId: 0, usage: 0b11);
        Assert.Equal(ScsiStatus.Good, Copy(h, p).Status);
        var withInline = SpcCdb.CopyParameters(1, 0, [SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h))], [SpcCdb.BlockToBlock(0, 0, 1, 0, 1)], inline: 4);
        withInline = [.. withInline, 0, 0, 0, 0];
        Assert.Equal(ExtendedCopy.InlineDataLengthExceeded, Sense.Of(Copy(h, withInline)).AscAscq);
    }

    [Fact]
    public void CopyStatusIsKeptPerNexusAndListIdentifier()
    {
        var h = new Harness();
        // nothing known for list 1 yet
        var none = Sense.Of(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 1), dataIn: 1024));
        Assert.Equal(Asc.InvalidFieldInCdb, none.AscAscq);
        Assert.Equal(2, none.FieldPointer);

        Assert.Equal(ScsiStatus.Good, Copy(h, SelfCopy(h, 16, 0, 64, listId: 1)).Status);
        var t = h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 1), dataIn: 1024);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(12, d.Length);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(0x01, d[4]); // completed without errors, HDD = 0
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(5)));
        Assert.Equal(0, d[7]);    // bytes
        Assert.Equal(16u * 512, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)));

        // another I_T nexus has its own list identifiers
        Assert.Equal(Asc.InvalidFieldInCdb, Sense.Of(h.Run(Harness.NexusB, SpcCdb.ReceiveCopyResults(0x00, listId: 1), dataIn: 1024)).AscAscq);

        // LIST ID USAGE 10b: not held once finished
        Assert.Equal(ScsiStatus.Good, Copy(h, SelfCopy(h, 16, 0, 64, listId: 2, usage: 0b10)).Status);
        Assert.Equal(Asc.InvalidFieldInCdb, Sense.Of(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 2), dataIn: 1024)).AscAscq);

        // the nexus goes away: its held results with it
        h.Target.NexusLost(Harness.NexusA);
        h.Target.NexusAttached(Harness.NexusA);
        h.ClearUnitAttentions(Harness.NexusA);
        Assert.Equal(Asc.InvalidFieldInCdb, Sense.Of(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 1), dataIn: 1024)).AscAscq);
    }

    [Fact]
    public async Task ListIdentifierOfARunningCopyIsInUse()
    {
        var h = new Harness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Store.ReadGate = gate;
        var p = SelfCopy(h, 16, 0, 64, listId: 9);
        var first = Harness.NewTask(Harness.NexusA, SpcCdb.ExtendedCopy(p.Length), dataOut: p, tag: 1);
        var running = h.Target.ExecuteAsync(first).AsTask();
        await h.Store.ReadEntered.Task;
        h.Store.ReadGate = null; // only the first copy's read waits

        var status = Harness.DataIn(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 9), dataIn: 1024));
        Assert.Equal(0x00, status[4]); // in progress
        var second = Sense.Of(h.Run(SpcCdb.ExtendedCopy(p.Length), dataOut: p));
        Assert.Equal(ExtendedCopy.OperationInProgress, second.AscAscq);
        // another I_T nexus has its own list identifiers
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, SpcCdb.ExtendedCopy(p.Length), dataOut: p).Status);

        gate.SetResult();
        await running;
        Assert.Equal(ScsiStatus.Good, first.Status);
        Assert.Equal(0x01, Harness.DataIn(h.Run(SpcCdb.ReceiveCopyResults(0x00, listId: 9), dataIn: 1024))[4]);
    }

    [Fact]
    public void OperatingParametersReportTheEnforcedLimits()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReceiveCopyResults(0x03), dataIn: 1024);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(d.Length - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(0x01, d[4] & 0x01);
        Assert.Equal(CopyManager.MaxCscdDescriptors, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(8)));
        Assert.Equal(CopyManager.MaxSegmentDescriptors, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(10)));
        Assert.Equal((uint)CopyManager.MaxDescriptorListLength, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(12)));
        Assert.Equal(65535u * 512, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(16)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(20))); // no inline data
        Assert.Equal(CopyManager.MaxConcurrentCopies, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(34)));
        Assert.Equal(9, d[37]); // 512-byte granularity
        Assert.Equal(2, d[43]);
        Assert.Equal(new byte[] { 0x02, 0xE4 }, d.AsSpan(44, 2).ToArray());
    }

    [Fact]
    public void UnsupportedReceiveCopyResultsServiceActionIsInvalid()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(SpcCdb.ReceiveCopyResults(0x01), dataIn: 1024));
        Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
    }

    [Fact]
    public void CopyIntoAReadOnlyLogicalUnitIsWriteProtected()
    {
        var h = new Harness();
        var ro = new MemoryBlockStore(2048, 512, readOnly: true);
        h.Target.AddLogicalUnit(new LogicalUnit(1, Guid.Parse("99999999-2222-3333-4444-555555555555"), ro, new LocalLuContext(null)));
        h.ClearUnitAttentions(Harness.NexusA, lun: 0);
        h.ClearUnitAttentions(Harness.NexusA, lun: 1);
        Fill(h.Store, 0, 4, 0x77);
        var cscds = new[] { SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h, 0)), SpcCdb.IdentificationCscd(SpcCdb.NaaDesignator(h, 1)) };
        var into = SpcCdb.CopyParameters(1, 0, cscds, [SpcCdb.BlockToBlock(0, 1, 4, 0, 0)]);
        var s = Sense.Of(Copy(h, into));
        Assert.Equal((byte)SenseKey.DataProtect, s.Key);
        Assert.Equal(Asc.WriteProtected, s.AscAscq);
        Assert.All(ro.Data.Take(2048), b => Assert.Equal(0, b));
        // reading from it is fine
        var from = SpcCdb.CopyParameters(2, 0, cscds, [SpcCdb.BlockToBlock(1, 0, 4, 0, 100)]);
        Assert.Equal(ScsiStatus.Good, Copy(h, from).Status);
    }

    [Fact]
    public void ThirdPartyCopyVpdPageDescribesTheCopyManager()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Inquiry(true, 0x8F), dataIn: 255);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(0x8F, d[1]);
        Assert.Equal(d.Length - 4, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
        var descriptors = new Dictionary<int, byte[]>();
        for (int at = 4; at < d.Length;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 2));
            Assert.Equal(0, length % 4);
            descriptors[BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at))] = d.AsSpan(at + 4, length).ToArray();
            at += 4 + length;
        }
        Assert.Equal(new byte[] { 7, 0x83, 1, 0x00, 0x84, 2, 0x00, 0x03 }, descriptors[0x0001]);
        Assert.Equal(CopyManager.MaxCscdDescriptors, BinaryPrimitives.ReadUInt16BigEndian(descriptors[0x0004].AsSpan(4)));
        Assert.Equal(CopyManager.MaxSegmentDescriptors, BinaryPrimitives.ReadUInt16BigEndian(descriptors[0x0004].AsSpan(6)));
        Assert.Equal((uint)CopyManager.MaxDescriptorListLength, BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x0004].AsSpan(8)));
        Assert.Equal(new byte[] { 2, 0x02, 0xE4, 0 }, descriptors[0x0008]);
        Assert.Equal(65535u * 512, BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x8001].AsSpan(8)));
        Assert.Equal(9, descriptors[0x8001][12]);
        // listed in the Supported VPD Pages page
        var supported = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0x00), dataIn: 255));
        Assert.Contains((byte)0x8F, supported.AsSpan(4).ToArray());
    }
}
