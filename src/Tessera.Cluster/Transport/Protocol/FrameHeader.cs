using System.Buffers.Binary;
using Tessera.Hashing;

namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// The fixed 32-byte header in front of every frame, big-endian (docs/inter-node-protocol.md §2):
/// <code>
///  0 magic "TSNP"   4 major  5 minor  6 message type   8 flags  10 status
/// 12 payload length            16 request id (8 bytes)
/// 24 reserved (0)              28 CRC32C of bytes 0-27
/// </code>
/// Magic, version and message type sit at offsets every version keeps, and the Error frame keeps
/// this layout in every version, so peers of different versions can tell "not our protocol" from
/// "not our version" and say so to each other.
/// </summary>
internal readonly struct FrameHeader
{
    public const int Size = 32;

    /// <summary>"TSNP": Tessera node protocol.</summary>
    public const uint Magic = 0x54534E50;

    private const int CrcOffset = 28;

    public FrameHeader(ushort messageType, FrameFlags flags, FrameStatus status, ulong requestId, uint payloadLength)
        : this(ProtocolVersion.Major, ProtocolVersion.Minor, messageType, flags, status, requestId, payloadLength)
    {
    }

    public FrameHeader(byte major, byte minor, ushort messageType, FrameFlags flags, FrameStatus status, ulong requestId, uint payloadLength)
    {
        Major = major;
        Minor = minor;
        MessageType = messageType;
        Flags = flags;
        Status = status;
        RequestId = requestId;
        PayloadLength = payloadLength;
    }

    public byte Major { get; }

    public byte Minor { get; }

    public ushort MessageType { get; }

    public FrameFlags Flags { get; }

    public FrameStatus Status { get; }

    public ulong RequestId { get; }

    public uint PayloadLength { get; }

    public bool IsResponse => (Flags & FrameFlags.Response) != 0;

    public bool IsOneWay => (Flags & FrameFlags.OneWay) != 0;

    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        destination[4] = Major;
        destination[5] = Minor;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], MessageType);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], (ushort)Flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)Status);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], PayloadLength);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], RequestId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[24..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(destination[CrcOffset..], Crc32C.Compute(destination[..CrcOffset]));
    }

    /// <summary>
    /// Parses and checks a header in the order that gives the most useful answer to a peer:
    /// magic, then major version (its layout past byte 5 may differ), then CRC, then fields.
    /// </summary>
    public static HeaderCheck TryParse(ReadOnlySpan<byte> source, out FrameHeader header)
    {
        header = default;
        source = source[..Size];
        if (BinaryPrimitives.ReadUInt32BigEndian(source) != Magic)
        {
            return HeaderCheck.BadMagic;
        }

        bool crcValid = BinaryPrimitives.ReadUInt32BigEndian(source[CrcOffset..]) == Crc32C.Compute(source[..CrcOffset]);
        if (source[4] != ProtocolVersion.Major)
        {
            // The Error frame keeps the 1.0 layout in every version, so a peer refusing our version
            // (or we refusing theirs) can still say why. Any other frame of another major is refused.
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(source[6..]);
            if (crcValid && type == Protocol.MessageType.Error)
            {
                header = Read(source);
                return HeaderCheck.Valid;
            }

            header = new FrameHeader(source[4], source[5], 0, FrameFlags.None, FrameStatus.Ok, 0, 0);
            return HeaderCheck.UnsupportedVersion;
        }

        if (!crcValid)
        {
            return HeaderCheck.BadCrc;
        }

        header = Read(source);
        FrameFlags flags = header.Flags;
        if ((flags & ~FrameFlags.Known) != 0 || flags == FrameFlags.Known || BinaryPrimitives.ReadUInt32BigEndian(source[24..]) != 0)
        {
            return HeaderCheck.BadFields;
        }

        return HeaderCheck.Valid;
    }

    private static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        source[4],
        source[5],
        BinaryPrimitives.ReadUInt16BigEndian(source[6..]),
        (FrameFlags)BinaryPrimitives.ReadUInt16BigEndian(source[8..]),
        (FrameStatus)BinaryPrimitives.ReadUInt16BigEndian(source[10..]),
        BinaryPrimitives.ReadUInt64BigEndian(source[16..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[12..]));

    public override string ToString() =>
        $"type {MessageType} id {RequestId} flags {Flags} status {Status} len {PayloadLength} v{Major}.{Minor}";
}

internal enum HeaderCheck
{
    Valid,
    BadMagic,
    UnsupportedVersion,
    BadCrc,

    /// <summary>Unknown flag bits, Response and OneWay together, or a non-zero reserved word.</summary>
    BadFields,
}
