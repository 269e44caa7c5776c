using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 7.7.17 Third-party Copy VPD page (8Fh): the copy manager's commands, limits and descriptor
/// types, for initiators that look here rather than at RECEIVE COPY RESULTS (OPERATING PARAMETERS).
/// The numbers are <see cref="CopyManager"/>'s, the same ones <see cref="ExtendedCopy"/> enforces.
/// </summary>
internal static class ThirdPartyCopyVpd
{
    public const byte PageCode = 0x8F;

    public static byte[] Build(LogicalUnit lu, ItNexus nexus)
    {
        var body = new List<byte>(128);

        // 0001h Supported Commands: EXTENDED COPY (LID1); RECEIVE COPY RESULTS COPY STATUS and OPERATING PARAMETERS.
        Descriptor(body, 0x0001, [7, 0x83, 1, 0x00, 0x84, 2, 0x00, 0x03]);

        // 0004h Parameter Data.
        var parameters = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(parameters.AsSpan(4), CopyManager.MaxCscdDescriptors);
        BinaryPrimitives.WriteUInt16BigEndian(parameters.AsSpan(6), CopyManager.MaxSegmentDescriptors);
        BinaryPrimitives.WriteUInt32BigEndian(parameters.AsSpan(8), CopyManager.MaxDescriptorListLength);
        // MAXIMUM INLINE DATA LENGTH: 0.
        Descriptor(body, 0x0004, parameters);

        // 0008h Supported Descriptors: block → block segments, Identification CSCD descriptors.
        Descriptor(body, 0x0008, [2, ExtendedCopy.BlockToBlockSegment, ExtendedCopy.IdentificationCscd]);

        // 000Ch Supported CSCD Descriptor IDs: none (CSCD descriptor IDs are not used).
        Descriptor(body, 0x000C, [0, 0]);

        // 8001h General Copy Operations.
        var general = new byte[32];
        BinaryPrimitives.WriteUInt32BigEndian(general, CopyManager.MaxConcurrentCopies);           // TOTAL CONCURRENT COPIES
        BinaryPrimitives.WriteUInt32BigEndian(general.AsSpan(4), CopyManager.MaxConcurrentCopies); // MAXIMUM IDENTIFIED CONCURRENT COPIES
        BinaryPrimitives.WriteUInt32BigEndian(general.AsSpan(8), (uint)(ushort.MaxValue * lu.BlockSize)); // MAXIMUM SEGMENT LENGTH
        general[12] = (byte)int.Log2(lu.BlockSize);                                                // DATA SEGMENT GRANULARITY
        Descriptor(body, 0x8001, general);

        var d = new byte[4 + body.Count];
        d[1] = PageCode;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)body.Count);
        body.CopyTo(d, 4);
        return d;
    }

    /// <summary>A third-party copy descriptor: type, length, data padded to a multiple of four bytes.</summary>
    private static void Descriptor(List<byte> into, ushort type, ReadOnlySpan<byte> data)
    {
        int length = (data.Length + 3) & ~3;
        into.Add((byte)(type >> 8)); into.Add((byte)type);
        into.Add((byte)(length >> 8)); into.Add((byte)length);
        foreach (var b in data) into.Add(b);
        for (int i = data.Length; i < length; i++) into.Add(0);
    }
}
