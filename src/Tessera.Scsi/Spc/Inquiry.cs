using System.Buffers.Binary;
using System.Text;

namespace Tessera.Scsi;

/// <summary>SPC-5 6.7 INQUIRY: standard data and the vital product data pages (<see cref="VpdPages"/>).</summary>
internal static class Inquiry
{
    public static readonly CommandDescriptor Command = new(0x12, -1, "INQUIRY",
        [0x12, 0x01, 0xFF, 0xFF, 0xFF, 0x00], Execute,
        CommandFlags.IgnoresUnitAttention | CommandFlags.AllowedUnderReservation);

    public const string VendorIdentification = "TESSERA";

    private const int StandardLength = 96;

    // SPC-5 Table 150 version descriptors, "no version claimed" codes. SPC-4 and SBC-3 are listed
    // too because initiators and conformance suites written before SPC-5 look for them.
    private static readonly ushort[] VersionDescriptors =
    [
        0x00A0, // SAM-5
        0x05C0, // SPC-5
        0x0460, // SPC-4
        0x0600, // SBC-4
        0x04C0, // SBC-3
        0x0960, // iSCSI
    ];

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool evpd = (cdb[1] & 0x01) != 0;
        byte page = cdb[2];
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);
        if (!evpd)
        {
            if (page != 0) { task.InvalidFieldInCdb(state, 2); return ValueTask.CompletedTask; }
            Span<byte> data = stackalloc byte[StandardLength];
            WriteStandard(data, lu.ProductIdentification, lu.ProductRevision, peripheral: 0x00);
            task.ReturnData(data, allocation);
            return ValueTask.CompletedTask;
        }
        var vpd = VpdPages.Build(lu, task.Nexus, page);
        if (vpd is null) { task.InvalidFieldInCdb(state, 2); return ValueTask.CompletedTask; }
        task.ReturnData(vpd, allocation);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// SPC-5 6.7.2 / SAM-5: INQUIRY to a LUN with no logical unit reports peripheral qualifier 011b
    /// and device type 1Fh; VPD pages are not available.
    /// </summary>
    public static void ExecuteNoLogicalUnit(ScsiTarget target, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool evpd = (cdb[1] & 0x01) != 0;
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);
        if (evpd || cdb[2] != 0) { task.InvalidFieldInCdb(state, evpd ? 1 : 2, evpd ? 0 : -1); return; }
        Span<byte> data = stackalloc byte[StandardLength];
        WriteStandard(data, "Tessera volume", "0001", peripheral: 0x7F);
        task.ReturnData(data, allocation);
    }

    private static void WriteStandard(Span<byte> d, string product, string revision, byte peripheral)
    {
        d.Clear();
        d[0] = peripheral;            // PERIPHERAL QUALIFIER / DEVICE TYPE (00h: direct access block device)
        d[1] = 0x00;                  // RMB = 0: not removable
        // VERSION 06h (SPC-4): the highest value current initiators and libiscsi accept; SPC-5
        // conformance is claimed by the version descriptors.
        d[2] = 0x06;
        d[3] = 0x10 | 0x02;           // HISUP = 1, RESPONSE DATA FORMAT = 2; NORMACA = 0
        d[4] = StandardLength - 5;    // ADDITIONAL LENGTH
        // TPGS: 01b (implicit ALUA) as soon as REPORT TARGET PORT GROUPS exists; 3PC once EXTENDED COPY does.
        byte b5 = 0;
        if (CommandTable.Supports(0xA3, 0x0A)) b5 |= 0x10;
        if (CommandTable.Supports(0x83, 0x00)) b5 |= 0x08; // EXTENDED COPY (LID1): THIRD-PARTY COPY OUT service action 00h
        d[5] = b5;
        d[6] = 0x00;
        d[7] = 0x02;                  // CMDQUE = 1
        Ascii(d.Slice(8, 8), VendorIdentification);
        Ascii(d.Slice(16, 16), product);
        Ascii(d.Slice(32, 4), revision);
        for (int i = 0; i < VersionDescriptors.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(d[(58 + 2 * i)..], VersionDescriptors[i]);
    }

    /// <summary>Left-aligned ASCII padded with spaces (SPC-5 4.3.1).</summary>
    internal static void Ascii(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        int n = Math.Min(field.Length, text.Length);
        for (int i = 0; i < n; i++)
        {
            char c = text[i];
            field[i] = c is >= ' ' and <= '~' ? (byte)c : (byte)'?';
        }
    }
}

/// <summary>SPC-5 7.7 / SBC-4 6.6 vital product data pages, ascending page code.</summary>
internal static class VpdPages
{
    private delegate byte[] Builder(LogicalUnit lu, ItNexus nexus);

    /// <summary>
    /// IEEE company identifier in the NAA-6 designator. Tessera has no registered OUI; the field holds
    /// zero and the 100 bits after it come from the volume UUID, which makes the designator unique.
    /// </summary>
    internal const uint NaaCompanyId = 0x000000;

    private static readonly (byte Code, Builder Build)[] Pages =
    [
        (0x00, SupportedPages),
        (0x80, UnitSerialNumber),
        (0x83, DeviceIdentification),
        (ExtendedInquiryData.PageCode, ExtendedInquiryData.Build),
        (ThirdPartyCopyVpd.PageCode, ThirdPartyCopyVpd.Build),
        (0xB0, BlockLimits),
        (0xB1, BlockDeviceCharacteristics),
        (0xB2, (lu, nexus) => BlockLimitsFields.LogicalBlockProvisioningPage()),
    ];

    public static byte[]? Build(LogicalUnit lu, ItNexus nexus, byte code)
    {
        foreach (var (c, build) in Pages)
            if (c == code) return build(lu, nexus);
        return null;
    }

    private static byte[] Page(byte code, int length)
    {
        var d = new byte[4 + length];
        d[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)length);
        return d;
    }

    // SPC-5 7.7.18
    private static byte[] SupportedPages(LogicalUnit lu, ItNexus nexus)
    {
        var d = Page(0x00, Pages.Length);
        for (int i = 0; i < Pages.Length; i++) d[4 + i] = Pages[i].Code;
        return d;
    }

    // SPC-5 7.7.19
    private static byte[] UnitSerialNumber(LogicalUnit lu, ItNexus nexus)
    {
        var serial = lu.SerialNumber;
        var d = Page(0x80, serial.Length);
        Inquiry.Ascii(d.AsSpan(4), serial);
        return d;
    }

    // SPC-5 7.7.6: LU designators (NAA-6, T10 vendor ID) and, for the port the command came
    // through, relative target port, target port group and SCSI name strings.
    private static byte[] DeviceIdentification(LogicalUnit lu, ItNexus nexus)
    {
        var body = new List<byte>(160);

        Span<byte> naa = stackalloc byte[NaaDesignatorLength];
        WriteNaaDesignator(lu.VolumeId, naa);
        Designator(body, codeSet: 1, piv: false, association: 0, type: 3, naa);

        // T10 vendor ID based (1h): vendor + full UUID.
        Span<byte> t10 = stackalloc byte[8 + 32];
        Inquiry.Ascii(t10[..8], Inquiry.VendorIdentification);
        Inquiry.Ascii(t10[8..], lu.SerialNumber);
        Designator(body, codeSet: 2, piv: false, association: 0, type: 1, t10);

        // Relative target port identifier (4h) and target port group (5h), association: target port.
        Span<byte> port = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(port[2..], nexus.RelativeTargetPortId);
        Designator(body, codeSet: 1, piv: true, association: 1, type: 4, port);
        BinaryPrimitives.WriteUInt16BigEndian(port[2..], nexus.TargetPortGroupId);
        Designator(body, codeSet: 1, piv: true, association: 1, type: 5, port);

        // SCSI name strings (8h): the target port ("iqn…,t,0xTPGT") and the target device ("iqn…").
        var target = lu.TargetName;
        if (target.Length > 0)
        {
            Designator(body, codeSet: 3, piv: true, association: 1, type: 8, NameString($"{target},t,0x{nexus.RelativeTargetPortId:x4}"));
            Designator(body, codeSet: 3, piv: true, association: 2, type: 8, NameString(target));
        }

        var d = Page(0x83, body.Count);
        body.CopyTo(d, 4);
        return d;
    }

    internal const int NaaDesignatorLength = 16;

    /// <summary>
    /// NAA IEEE Registered Extended (6h): NAA | company id (24) | 100 bits of the volume UUID. Also what
    /// EXTENDED COPY matches Identification CSCD descriptors against.
    /// </summary>
    internal static void WriteNaaDesignator(Guid volumeId, Span<byte> naa)
    {
        Span<byte> uuid = stackalloc byte[16];
        volumeId.TryWriteBytes(uuid, bigEndian: true, out _);
        var bits = (UInt128)BinaryPrimitives.ReadUInt64BigEndian(uuid) << 64 | BinaryPrimitives.ReadUInt64BigEndian(uuid[8..]);
        var value = (UInt128)6 << 124 | (UInt128)NaaCompanyId << 100 | bits >> 28;
        BinaryPrimitives.WriteUInt64BigEndian(naa, (ulong)(value >> 64));
        BinaryPrimitives.WriteUInt64BigEndian(naa[8..], (ulong)value);
    }

    // SPC-5 7.7.6.1: PROTOCOL IDENTIFIER (5h iSCSI) is meaningful only with PIV = 1.
    private static void Designator(List<byte> into, int codeSet, bool piv, int association, int type, ReadOnlySpan<byte> value)
    {
        into.Add((byte)((piv ? 0x50 : 0x00) | codeSet));
        into.Add((byte)((piv ? 0x80 : 0x00) | association << 4 | type));
        into.Add(0);
        into.Add((byte)value.Length);
        foreach (var b in value) into.Add(b);
    }

    // SPC-5 7.7.6.11: UTF-8, null terminated, padded with nulls to a multiple of 4 bytes.
    private static byte[] NameString(string name)
    {
        var utf8 = Encoding.UTF8.GetBytes(name);
        int length = Math.Min(252, (utf8.Length + 1 + 3) & ~3);
        var d = new byte[length];
        utf8.AsSpan(0, Math.Min(utf8.Length, length - 1)).CopyTo(d);
        return d;
    }

    // SBC-4 6.6.4 Block Limits.
    private static byte[] BlockLimits(LogicalUnit lu, ItNexus nexus)
    {
        var d = Page(0xB0, 0x3C);
        var s = d.AsSpan();
        int bs = lu.BlockSize;
        // OPTIMAL TRANSFER LENGTH GRANULARITY: 4 KiB (the store's checksum unit), or a whole physical block
        // when that is larger — a smaller write would be a read-modify-write of the physical block.
        BinaryPrimitives.WriteUInt16BigEndian(s[6..], (ushort)Math.Max(Math.Max(1, 4096 / bs), lu.LogicalBlocksPerPhysicalBlock));
        BinaryPrimitives.WriteUInt32BigEndian(s[8..], (uint)lu.MaximumTransferBlocks);              // MAXIMUM TRANSFER LENGTH
        BinaryPrimitives.WriteUInt32BigEndian(s[12..], (uint)Math.Min(lu.MaximumTransferBlocks, (1 << 20) / bs)); // OPTIMAL TRANSFER LENGTH
        BlockLimitsFields.Fill(s, lu); // COMPARE AND WRITE, PREFETCH, UNMAP, WRITE SAME and atomic fields (Sbc/)
        return d;
    }

    // SBC-4 6.6.2 Block Device Characteristics: non-rotating medium.
    private static byte[] BlockDeviceCharacteristics(LogicalUnit lu, ItNexus nexus)
    {
        var d = Page(0xB1, 0x3C);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), 0x0001); // MEDIUM ROTATION RATE: non-rotating
        // WABEREQ/WACEREQ 01b: reads after a block/crypto erase sanitize complete GOOD (deallocated blocks read zeros).
        if (CommandTable.Supports(Sanitize.Opcode, Sanitize.BlockEraseAction)) d[7] |= 0x40;
        if (CommandTable.Supports(Sanitize.Opcode, Sanitize.CryptographicEraseAction)) d[7] |= 0x10;
        return d;
    }
}
