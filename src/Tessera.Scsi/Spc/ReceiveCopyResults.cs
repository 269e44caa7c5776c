using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.18 RECEIVE COPY RESULTS (LID1, operation code 84h): COPY STATUS (00h) of an EXTENDED COPY
/// named by its LIST IDENTIFIER on the same I_T nexus, and OPERATING PARAMETERS (03h), the limits
/// <see cref="ExtendedCopy"/> enforces. RECEIVE DATA and FAILED SEGMENT DETAILS are not supported:
/// block-to-block segments hold no data, and failures are reported in the sense data of the copy.
/// </summary>
internal static class ReceiveCopyResults
{
    // Byte 2: LIST IDENTIFIER; bytes 10-13: ALLOCATION LENGTH.
    private static readonly byte[] Usage = [0x84, 0x1F, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00];

    public static readonly CommandDescriptor CopyStatus = new(0x84, 0x00, "RECEIVE COPY RESULTS(COPY STATUS)",
        Usage, ExecuteCopyStatus);

    public static readonly CommandDescriptor OperatingParameters = new(0x84, 0x03, "RECEIVE COPY RESULTS(OPERATING PARAMETERS)",
        Usage, ExecuteOperatingParameters);

    /// <summary>Segment descriptor and CSCD descriptor type codes the copy manager implements (ascending).</summary>
    private static readonly byte[] ImplementedDescriptors = [ExtendedCopy.BlockToBlockSegment, ExtendedCopy.IdentificationCscd];

    private static int Allocation(ReadOnlySpan<byte> cdb) => (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]), int.MaxValue);

    // SPC-5 6.18.3 Table 135.
    private static ValueTask ExecuteCopyStatus(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        var operation = lu.Copies.Find(task.Nexus.Key, cdb[2]);
        // No EXTENDED COPY with that list identifier is running or held for this nexus.
        if (operation is null) { task.InvalidFieldInCdb(state, 2); return ValueTask.CompletedTask; }
        Span<byte> d = stackalloc byte[12];
        d.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(d, 8);                // AVAILABLE DATA
        d[4] = (byte)operation.Status;                               // HDD = 0: nothing is held
        BinaryPrimitives.WriteUInt16BigEndian(d[5..], (ushort)Math.Min(operation.SegmentsProcessed, ushort.MaxValue));
        var (units, count) = TransferCount(operation.BytesTransferred);
        d[7] = units;                                                // TRANSFER COUNT UNITS
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], count);        // TRANSFER COUNT
        task.ReturnData(d, Allocation(cdb));
        return ValueTask.CompletedTask;
    }

    /// <summary>The largest unit (SPC-5 Table 137: bytes, KiB, MiB … as powers of 2^10) in which the count fits 32 bits.</summary>
    internal static (byte Units, uint Count) TransferCount(long bytes)
    {
        byte units = 0;
        while (bytes > uint.MaxValue) { bytes >>= 10; units++; }
        return (units, (uint)bytes);
    }

    // SPC-5 6.18.5 Table 139.
    private static ValueTask ExecuteOperatingParameters(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var d = new byte[44 + ImplementedDescriptors.Length];
        var s = d.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)(d.Length - 4));                           // AVAILABLE DATA
        s[4] = 0x01;                                                                             // SNLID: LIST ID USAGE 11b supported
        BinaryPrimitives.WriteUInt16BigEndian(s[8..], CopyManager.MaxCscdDescriptors);           // MAXIMUM CSCD DESCRIPTOR COUNT
        BinaryPrimitives.WriteUInt16BigEndian(s[10..], CopyManager.MaxSegmentDescriptors);       // MAXIMUM SEGMENT DESCRIPTOR COUNT
        BinaryPrimitives.WriteUInt32BigEndian(s[12..], CopyManager.MaxDescriptorListLength);     // MAXIMUM DESCRIPTOR LIST LENGTH
        BinaryPrimitives.WriteUInt32BigEndian(s[16..], (uint)(ushort.MaxValue * lu.BlockSize));  // MAXIMUM SEGMENT LENGTH: a 16-bit block count
        // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER SIZE: 0.
        BinaryPrimitives.WriteUInt16BigEndian(s[34..], CopyManager.MaxConcurrentCopies);         // TOTAL CONCURRENT COPIES
        s[36] = CopyManager.MaxConcurrentCopies;                                                 // MAXIMUM CONCURRENT COPIES
        s[37] = (byte)int.Log2(lu.BlockSize);                                                    // DATA SEGMENT GRANULARITY (log2 bytes)
        // INLINE DATA GRANULARITY, HELD DATA GRANULARITY: 0 (2^0).
        s[43] = (byte)ImplementedDescriptors.Length;                                             // IMPLEMENTED DESCRIPTOR LIST LENGTH
        ImplementedDescriptors.CopyTo(s[44..]);
        task.ReturnData(d, Allocation(task.Cdb));
        return ValueTask.CompletedTask;
    }
}
