using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

/// <summary>CDB and parameter list builders for the MAINTENANCE IN commands and copy offload.</summary>
internal static class SpcCdb
{
    public static byte[] MaintenanceIn(byte serviceAction, uint allocation, byte byte1High = 0, byte byte2 = 0, byte opcode = 0, ushort sa = 0)
    {
        var c = new byte[12];
        c[0] = 0xA3; c[1] = (byte)(byte1High | serviceAction); c[2] = byte2; c[3] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(4), sa);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), allocation);
        return c;
    }

    public static byte[] ReportTargetPortGroups(uint allocation = 1024, bool extended = false) =>
        MaintenanceIn(0x0A, allocation, byte1High: extended ? (byte)0x20 : (byte)0);

    public static byte[] ReportSupportedOpcodes(int options = 0, bool rctd = false, byte opcode = 0, ushort sa = 0, uint allocation = 65535) =>
        MaintenanceIn(0x0C, allocation, byte2: (byte)((rctd ? 0x80 : 0) | options), opcode: opcode, sa: sa);

    public static byte[] ReportSupportedTmf(bool repd = false, uint allocation = 16) =>
        MaintenanceIn(0x0D, allocation, byte2: repd ? (byte)0x80 : (byte)0);

    public static byte[] ExtendedCopy(int parameterListLength)
    {
        var c = new byte[16];
        c[0] = 0x83;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), (uint)parameterListLength);
        return c;
    }

    public static byte[] ReceiveCopyResults(byte serviceAction, byte listId = 0, uint allocation = 1024)
    {
        var c = new byte[16];
        c[0] = 0x84; c[1] = serviceAction; c[2] = listId;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), allocation);
        return c;
    }

    /// <summary>The NAA designator (code set 1, type 3, association 0) of VPD 83h as an initiator would find it.</summary>
    public static byte[] NaaDesignator(Harness h, int lun = 0)
    {
        var t = h.Run(Cdb.Inquiry(true, 0x83), dataIn: 255, lun: lun);
        var d = Harness.DataIn(t);
        for (int at = 4; at < d.Length; at += 4 + d[at + 3])
            if ((d[at + 1] & 0x0F) == 3 && ((d[at + 1] >> 4) & 3) == 0) return d.AsSpan(at, 4 + d[at + 3]).ToArray();
        throw new InvalidOperationException("no NAA designator");
    }

    /// <summary>An Identification CSCD descriptor (E4h) carrying <paramref name="designator"/> (4-byte header included).</summary>
    public static byte[] IdentificationCscd(byte[] designator, int blockSize = 512, byte type = 0xE4, byte deviceType = 0)
    {
        var d = new byte[32];
        d[0] = type; d[1] = deviceType;
        d[4] = (byte)(designator[0] & 0x0F);
        d[5] = (byte)(designator[1] & 0x3F);
        d[7] = designator[3];
        designator.AsSpan(4).CopyTo(d.AsSpan(8));
        d[29] = (byte)(blockSize >> 16); d[30] = (byte)(blockSize >> 8); d[31] = (byte)blockSize;
        return d;
    }

    public static byte[] BlockToBlock(ushort source, ushort destination, ushort blocks, ulong sourceLba, ulong destinationLba, bool dc = false)
    {
        var d = new byte[28];
        d[0] = 0x02; d[1] = (byte)(dc ? 0x02 : 0);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 0x18);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), source);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(6), destination);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(10), blocks);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(12), sourceLba);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(20), destinationLba);
        return d;
    }

    /// <summary>A LID1 parameter list: header, CSCD descriptors, segment descriptors.</summary>
    public static byte[] CopyParameters(byte listId, int listIdUsage, byte[][] cscds, byte[][] segments, uint inline = 0)
    {
        int cl = cscds.Sum(c => c.Length), sl = segments.Sum(s => s.Length);
        var p = new byte[16 + cl + sl];
        p[0] = listId; p[1] = (byte)(listIdUsage << 3);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)cl);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), (uint)sl);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(12), inline);
        int at = 16;
        foreach (var c in cscds) { c.CopyTo(p, at); at += c.Length; }
        foreach (var s in segments) { s.CopyTo(p, at); at += s.Length; }
        return p;
    }
}
