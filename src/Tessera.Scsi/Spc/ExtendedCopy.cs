using System.Buffers;
using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.6 EXTENDED COPY (LID1, operation code 83h service action 00h): the copy manager of this LU
/// copies blocks between logical units of this target without the data crossing the host. Supported:
/// Identification CSCD descriptors (E4h) naming an LU of this target by the NAA designator of its
/// Device Identification VPD page, and block device to block device segment descriptors (02h). Data
/// moves store to store through <see cref="IBlockStore"/> in pooled chunks, so the distributed volume
/// turns it into owner-to-owner traffic. Limits are those of <see cref="CopyManager"/>, reported by
/// RECEIVE COPY RESULTS (OPERATING PARAMETERS).
/// </summary>
internal static class ExtendedCopy
{
    // Bytes 10-13: PARAMETER LIST LENGTH; everything else reserved.
    public static readonly CommandDescriptor Command = new(0x83, 0x00, "EXTENDED COPY(LID1)",
        [0x83, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], ExecuteAsync);

    public const int HeaderLength = 16;
    public const int CscdDescriptorLength = 32;
    public const int BlockToBlockSegmentLength = 28;

    public const byte IdentificationCscd = 0xE4;
    public const byte BlockToBlockSegment = 0x02;

    /// <summary>Bytes moved per store read/write pair: a multiple of every supported block size.</summary>
    internal const int ChunkBytes = 1 << 20;

    // SPC-5 Table 49 (ASC/ASCQ) codes used only by the copy manager.
    internal const ushort OperationInProgress = 0x0016;
    internal const ushort UnreachableCopyTarget = 0x0804;
    internal const ushort TooManyTargetDescriptors = 0x2606;
    internal const ushort UnsupportedTargetDescriptorTypeCode = 0x2607;
    internal const ushort TooManySegmentDescriptors = 0x2608;
    internal const ushort UnsupportedSegmentDescriptorTypeCode = 0x2609;
    internal const ushort UnexpectedInexactSegment = 0x260A;
    internal const ushort InlineDataLengthExceeded = 0x260B;
    internal const ushort InsufficientResources = 0x5503;

    private readonly record struct Segment(int Offset, int Source, int Destination, bool DestinationCounts, uint Blocks, ulong SourceLba, ulong DestinationLba);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        int length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(task.Cdb[10..]), int.MaxValue);
        // SPC-5 6.6.1: a PARAMETER LIST LENGTH of zero is not an error; nothing is copied.
        if (length == 0) return;
        if (!ReadWrite.HasDataOut(task, state, length)) return;
        var list = task.DataOut[..length];
        if (!TryParse(lu, task, state, list.Span, out var header, out var targets, out var segments)) return;

        var begun = lu.Copies.TryBegin(task.Nexus.Key, header.ListIdentifier, header.ListIdentifierUsed, header.Hold, out var operation);
        if (begun == CopyManager.BeginResult.ListIdentifierInUse)
        {
            task.CheckCondition(state, SenseKey.IllegalRequest, OperationInProgress);
            return;
        }
        if (begun == CopyManager.BeginResult.TooManyCopies)
        {
            task.CheckCondition(state, SenseKey.IllegalRequest, InsufficientResources);
            return;
        }
        bool ok = false;
        try
        {
            ok = await CopySegmentsAsync(task, state, targets, segments, operation).ConfigureAwait(false);
        }
        finally
        {
            lu.Copies.End(operation, errors: !ok);
        }
    }

    private readonly record struct Header(byte ListIdentifier, bool ListIdentifierUsed, bool Hold);

    /// <summary>
    /// Validates the whole parameter list before anything is copied (SPC-5 6.6.2-6.6.5): header fields,
    /// list lengths against the data and the copy manager's limits, descriptor counts and type codes,
    /// and resolves every CSCD descriptor to a logical unit of this target. Fails the task and returns
    /// false on the first error.
    /// </summary>
    private static bool TryParse(LogicalUnit lu, ScsiTask task, LuState state, ReadOnlySpan<byte> p,
        out Header header, out LogicalUnit[] targets, out Segment[] segments)
    {
        header = default; targets = []; segments = [];
        if (p.Length < HeaderLength) return ParameterListLengthError(task, state);

        byte listId = p[0];
        if ((p[1] & 0xC0) != 0) return InvalidField(task, state, 1, TaskResults.HighestBit(p[1] & 0xC0));
        int usage = (p[1] >> 3) & 0x03; // LIST ID USAGE; STR and PRIORITY are hints and ignored
        if (usage == 0b01) return InvalidField(task, state, 1, 4);
        if (usage == 0b11 && listId != 0) return InvalidField(task, state, 0);
        header = new Header(listId, usage != 0b11, usage == 0b00);
        if (p[4] != 0 || p[5] != 0 || p[6] != 0 || p[7] != 0) return InvalidField(task, state, p[4] != 0 ? 4 : p[5] != 0 ? 5 : p[6] != 0 ? 6 : 7);

        long cscdLength = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        long segmentLength = BinaryPrimitives.ReadUInt32BigEndian(p[8..]);
        long inlineLength = BinaryPrimitives.ReadUInt32BigEndian(p[12..]);
        if (HeaderLength + cscdLength + segmentLength + inlineLength > p.Length) return ParameterListLengthError(task, state);
        if (cscdLength + segmentLength > CopyManager.MaxDescriptorListLength) return ParameterListLengthError(task, state);
        if (inlineLength > 0)
        {
            task.CheckCondition(state, SenseKey.IllegalRequest, InlineDataLengthExceeded);
            return false;
        }

        // CSCD descriptors: every type Tessera knows is 32 bytes long except the IPv6 (EAh) and IP copy
        // service (EBh) descriptors (SPC-5 Table 111); only Identification descriptors are supported.
        var cscd = p.Slice(HeaderLength, (int)cscdLength);
        int count = 0;
        for (int at = 0; at < cscd.Length; at += CscdLength(cscd[at])) count++;
        if (count > CopyManager.MaxCscdDescriptors) return Fail(task, state, TooManyTargetDescriptors);
        var resolved = new List<LogicalUnit>(count);
        for (int at = 0; at < cscd.Length; at += CscdLength(cscd[at]))
        {
            int offset = HeaderLength + at;
            if (at + CscdLength(cscd[at]) > cscd.Length) return ParameterListLengthError(task, state);
            if (cscd[at] != IdentificationCscd)
                return Fail(task, state, UnsupportedTargetDescriptorTypeCode, SenseKeySpecific.FieldPointer(false, offset));
            var d = cscd.Slice(at, CscdDescriptorLength);
            var resolvedLu = Resolve(lu, task, state, d, offset);
            if (resolvedLu is null) return false;
            resolved.Add(resolvedLu);
        }

        var seg = p.Slice(HeaderLength + (int)cscdLength, (int)segmentLength);
        count = 0;
        for (int at = 0; at < seg.Length; count++)
        {
            if (at + 4 > seg.Length) return ParameterListLengthError(task, state);
            at += 4 + BinaryPrimitives.ReadUInt16BigEndian(seg[(at + 2)..]);
        }
        if (count > CopyManager.MaxSegmentDescriptors) return Fail(task, state, TooManySegmentDescriptors);
        var parsed = new List<Segment>(count);
        for (int at = 0; at < seg.Length;)
        {
            int offset = HeaderLength + (int)cscdLength + at;
            int descriptorLength = 4 + BinaryPrimitives.ReadUInt16BigEndian(seg[(at + 2)..]);
            if (seg[at] != BlockToBlockSegment)
                return Fail(task, state, UnsupportedSegmentDescriptorTypeCode, SenseKeySpecific.FieldPointer(false, offset));
            if (descriptorLength != BlockToBlockSegmentLength) return InvalidField(task, state, offset + 2);
            if (at + descriptorLength > seg.Length) return ParameterListLengthError(task, state);
            var d = seg.Slice(at, descriptorLength);
            if ((d[1] & 0xFC) != 0) return InvalidField(task, state, offset + 1, TaskResults.HighestBit(d[1] & 0xFC));
            parsed.Add(new Segment(offset,
                Source: BinaryPrimitives.ReadUInt16BigEndian(d[4..]),
                Destination: BinaryPrimitives.ReadUInt16BigEndian(d[6..]),
                DestinationCounts: (d[1] & 0x02) != 0, // DC: NUMBER OF BLOCKS counts destination blocks
                Blocks: BinaryPrimitives.ReadUInt16BigEndian(d[10..]),
                SourceLba: BinaryPrimitives.ReadUInt64BigEndian(d[12..]),
                DestinationLba: BinaryPrimitives.ReadUInt64BigEndian(d[20..])));
            at += descriptorLength;
        }
        targets = [.. resolved];
        segments = [.. parsed];
        return true;
    }

    private static int CscdLength(byte type) => type is 0xEA or 0xEB ? 64 : CscdDescriptorLength;

    /// <summary>
    /// SPC-5 6.6.5.6 Identification CSCD descriptor: peripheral device type 00h (block), a designator
    /// that must be the NAA designator of an LU of this target, and the disk block length, which must be
    /// that LU's. LU ID TYPE and the relative initiator port are ignored (SPC-4 and later); NUL is obsolete.
    /// </summary>
    private static LogicalUnit? Resolve(LogicalUnit lu, ScsiTask task, LuState state, ReadOnlySpan<byte> d, int offset)
    {
        if ((d[1] & 0x1F) != 0x00)
        {
            Fail(task, state, UnsupportedTargetDescriptorTypeCode, SenseKeySpecific.FieldPointer(false, offset + 1, 4));
            return null;
        }
        int codeSet = d[4] & 0x0F, association = (d[5] >> 4) & 0x03, type = d[5] & 0x0F, designatorLength = d[7];
        LogicalUnit? found = null;
        if (codeSet == 1 && association == 0 && type == 3 && designatorLength == VpdPages.NaaDesignatorLength)
        {
            var wanted = d.Slice(8, designatorLength);
            Span<byte> naa = stackalloc byte[VpdPages.NaaDesignatorLength];
            IReadOnlyList<LogicalUnit> candidates = lu.Target is { } target ? target.LogicalUnits : [lu];
            foreach (var candidate in candidates)
            {
                VpdPages.WriteNaaDesignator(candidate.VolumeId, naa);
                if (naa.SequenceEqual(wanted)) { found = candidate; break; }
            }
        }
        if (found is null)
        {
            // The designator names nothing this copy manager can reach (another target, another type).
            task.CheckCondition(state, SenseKey.CopyAborted, UnreachableCopyTarget);
            return null;
        }
        int diskBlockLength = d[29] << 16 | d[30] << 8 | d[31];
        if (diskBlockLength != found.BlockSize)
        {
            InvalidField(task, state, offset + 29);
            return null;
        }
        return found;
    }

    /// <summary>
    /// Processes the segments in order (SPC-5 6.6.5). Errors found here are COPY ABORTED with the
    /// number of the failing segment in COMMAND-SPECIFIC INFORMATION; segments before it stay copied.
    /// </summary>
    private static async ValueTask<bool> CopySegmentsAsync(ScsiTask task, LuState state, LogicalUnit[] targets, Segment[] segments, CopyOperation operation)
    {
        for (int i = 0; i < segments.Length; i++)
        {
            if (task.IsAborted) return false;
            var s = segments[i];
            if (s.Source >= targets.Length || s.Destination >= targets.Length)
            {
                CopyAborted(task, state, UnreachableCopyTarget, i);
                return false;
            }
            var source = targets[s.Source];
            var destination = targets[s.Destination];
            long bytes = (long)s.Blocks * (s.DestinationCounts ? destination.BlockSize : source.BlockSize);
            if (bytes % source.BlockSize != 0 || bytes % destination.BlockSize != 0)
            {
                CopyAborted(task, state, UnexpectedInexactSegment, i);
                return false;
            }
            long sourceBlocks = bytes / source.BlockSize, destinationBlocks = bytes / destination.BlockSize;
            if (!InRange(source, s.SourceLba, sourceBlocks) || !InRange(destination, s.DestinationLba, destinationBlocks))
            {
                // The copy target would refuse the transfer (LOGICAL BLOCK ADDRESS OUT OF RANGE): the
                // segment cannot be processed and the copy ends here.
                CopyAborted(task, state, Asc.NoAdditionalSenseInformation, i);
                return false;
            }
            var destinationState = destination.Context.Current;
            if (destination.IsWriteProtected(destinationState))
            {
                task.WriteProtected(state);
                return false;
            }
            var flags = destinationState.CurrentMode.WriteCacheEnabled ? WriteFlags.None : WriteFlags.Fua;
            if (!await CopyAsync(task, source, (long)s.SourceLba, destination, (long)s.DestinationLba, bytes, flags, operation).ConfigureAwait(false))
                return false;
            operation.SegmentDone();
        }
        return true;
    }

    private static bool InRange(LogicalUnit lu, ulong lba, long blocks)
    {
        ulong capacity = (ulong)lu.Store.BlockCount;
        return lba <= capacity && (ulong)blocks <= capacity - lba;
    }

    /// <summary>
    /// Moves <paramref name="bytes"/> from one store to another through one pooled buffer. When source and
    /// destination are the same store and the destination starts inside the source range, the chunks go
    /// from the end backwards so that no block is overwritten before it has been read.
    /// </summary>
    internal static async ValueTask<bool> CopyAsync(ScsiTask task, LogicalUnit source, long sourceLba, LogicalUnit destination, long destinationLba,
        long bytes, WriteFlags flags, CopyOperation? operation)
    {
        if (bytes == 0) return true;
        long sourceStart = sourceLba * source.BlockSize, destinationStart = destinationLba * destination.BlockSize;
        bool backwards = ReferenceEquals(source.Store, destination.Store)
            && destinationStart > sourceStart && destinationStart < sourceStart + bytes;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkBytes, bytes));
        try
        {
            for (long done = 0; done < bytes;)
            {
                if (task.IsAborted) return false;
                int n = (int)Math.Min(ChunkBytes, bytes - done);
                long at = backwards ? bytes - done - n : done;
                var chunk = buffer.AsMemory(0, n);
                await source.Store.ReadAsync((sourceStart + at) / source.BlockSize, chunk).ConfigureAwait(false);
                await destination.Store.WriteAsync((destinationStart + at) / destination.BlockSize, chunk, flags).ConfigureAwait(false);
                done += n;
                operation?.Transferred(n);
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool ParameterListLengthError(ScsiTask task, LuState state)
    {
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
        return false;
    }

    private static bool InvalidField(ScsiTask task, LuState state, int byteIndex, int bit = -1)
    {
        task.InvalidFieldInParameterList(state, byteIndex, bit);
        return false;
    }

    private static bool Fail(ScsiTask task, LuState state, ushort ascAscq, SenseKeySpecific sks = default)
    {
        task.CheckCondition(state, SenseKey.IllegalRequest, ascAscq, sks: sks);
        return false;
    }

    /// <summary>
    /// COPY ABORTED with the segment number in COMMAND-SPECIFIC INFORMATION (SPC-5 6.6.5.1): bytes 8-11
    /// of fixed format sense, or a command-specific information descriptor (SPC-5 4.4.2.3).
    /// </summary>
    internal static void CopyAborted(ScsiTask task, LuState state, ushort ascAscq, int segment)
    {
        bool descriptor = state.CurrentMode.DescriptorSense;
        task.CheckCondition(descriptor, SenseKey.CopyAborted, ascAscq);
        var sense = task.SenseBuffer;
        int n = task.SenseLength;
        if (!descriptor)
        {
            BinaryPrimitives.WriteUInt32BigEndian(sense[8..], (uint)segment);
            return;
        }
        var d = sense.Slice(n, 12);
        d.Clear();
        d[0] = 0x01; d[1] = 0x0A;
        BinaryPrimitives.WriteUInt64BigEndian(d[4..], (ulong)segment);
        sense[7] = (byte)(sense[7] + 12);
        task.SetSenseLength(n + 12);
    }
}
