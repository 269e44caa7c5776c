using System.Buffers.Binary;

namespace Tessera.Iscsi.Protocol;

/// <summary>
/// Field accessors over a 48-byte Basic Header Segment (RFC 7143 11.2.1). Offsets are from
/// the RFC's PDU layouts; all multi-byte fields are big-endian. A view, not a copy: reading a
/// PDU costs no allocation.
/// </summary>
internal readonly ref struct Bhs
{
    public const int Length = 48;
    public const uint ReservedTag = 0xffffffff;

    private readonly ReadOnlySpan<byte> _b;

    public Bhs(ReadOnlySpan<byte> bytes) => _b = bytes[..Length];

    public ReadOnlySpan<byte> Bytes => _b;
    public Opcode Opcode => (Opcode)(_b[0] & 0x3f);
    public bool Immediate => (_b[0] & 0x40) != 0;
    public byte Flags => _b[1];
    public bool Final => (_b[1] & 0x80) != 0;
    public byte Byte2 => _b[2];
    public byte Byte3 => _b[3];
    public int TotalAhsLength => _b[4] * 4;
    public int DataSegmentLength => (_b[5] << 16) | (_b[6] << 8) | _b[7];
    public ulong Lun => BinaryPrimitives.ReadUInt64BigEndian(_b[8..]);
    public uint InitiatorTaskTag => BinaryPrimitives.ReadUInt32BigEndian(_b[16..]);
    public uint Word20 => BinaryPrimitives.ReadUInt32BigEndian(_b[20..]);
    public uint Word24 => BinaryPrimitives.ReadUInt32BigEndian(_b[24..]);
    public uint Word28 => BinaryPrimitives.ReadUInt32BigEndian(_b[28..]);
    public uint Word32 => BinaryPrimitives.ReadUInt32BigEndian(_b[32..]);
    public uint Word36 => BinaryPrimitives.ReadUInt32BigEndian(_b[36..]);
    public uint Word40 => BinaryPrimitives.ReadUInt32BigEndian(_b[40..]);
    public uint Word44 => BinaryPrimitives.ReadUInt32BigEndian(_b[44..]);

    // SCSI Command (11.3)
    public bool ReadBit => (_b[1] & 0x40) != 0;
    public bool WriteBit => (_b[1] & 0x20) != 0;
    public int TaskAttributeBits => _b[1] & 0x07;
    public uint ExpectedDataTransferLength => Word20;
    public uint CmdSN => Word24;
    public uint ExpStatSN => Word28;
    public ReadOnlySpan<byte> Cdb => _b.Slice(32, 16);

    // Data-Out (11.8)
    public uint TargetTransferTag => Word20;
    public uint DataSN => Word36;
    public uint BufferOffset => Word40;

    // Task Management Function Request (11.5)
    public int Function => _b[1] & 0x7f;
    public uint ReferencedTaskTag => Word20;
    public uint RefCmdSN => Word32;

    // Login Request (11.12)
    public bool Transit => (_b[1] & 0x80) != 0;
    public bool Continue => (_b[1] & 0x40) != 0;
    public int CurrentStage => (_b[1] >> 2) & 0x3;
    public int NextStage => _b[1] & 0x3;
    public byte VersionMax => _b[2];
    public byte VersionMin => _b[3];
    public ulong Isid => ((ulong)BinaryPrimitives.ReadUInt16BigEndian(_b[8..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(_b[10..]);
    public ushort Tsih => BinaryPrimitives.ReadUInt16BigEndian(_b[14..]);
    public ushort Cid => BinaryPrimitives.ReadUInt16BigEndian(_b[20..]);

    // Logout Request (11.14)
    public int LogoutReason => _b[1] & 0x7f;
}

/// <summary>Writes target PDU headers into a 48-byte span (zeroed first).</summary>
internal static class BhsWriter
{
    public static void Begin(Span<byte> b, Opcode opcode, byte flags, int dataSegmentLength)
    {
        b[..Bhs.Length].Clear();
        b[0] = (byte)opcode;
        b[1] = flags;
        SetDataSegmentLength(b, dataSegmentLength);
    }

    public static void SetDataSegmentLength(Span<byte> b, int length)
    {
        b[5] = (byte)(length >> 16);
        b[6] = (byte)(length >> 8);
        b[7] = (byte)length;
    }

    public static void Lun(Span<byte> b, ulong lun) => BinaryPrimitives.WriteUInt64BigEndian(b[8..], lun);
    public static void Word(Span<byte> b, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(b[offset..], value);
    public static void Half(Span<byte> b, int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(b[offset..], value);

    public static void Isid(Span<byte> b, ulong isid)
    {
        BinaryPrimitives.WriteUInt16BigEndian(b[8..], (ushort)(isid >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(b[10..], (uint)isid);
    }
}
