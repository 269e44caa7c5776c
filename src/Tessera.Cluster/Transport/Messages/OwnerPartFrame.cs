using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Wire form of one owner's part of a volume request (<see cref="OwnerRequest"/>): types 100
/// (VolumeOwnerPart, request) and 101 (VolumeOrderedPart, one-way). Payload, big-endian:
/// <code>
///  0 operation (1)   1 write flags (1)   2 segment count s (2)   4 volume (16)   20 origin (4)
/// 24 request id (8)  32 owner count n (2)   34 reserved, 0 (2)   36 data length (4)
/// 40 owners (4 × n), strictly increasing; n is 0 (not ordered) or ≥ 2
///    segments (40 × s): volume offset (8), length (8), offset in the request (8), sub-unit (8), epoch (8)
///    data: write data of the segments in segment order; COMPARE AND WRITE: that, then the verify data likewise
/// </code>
/// Only the bytes of this owner's segments travel. The receiver addresses them compactly (segment i
/// at the sum of the lengths before it) and maps a miscompare back to the request's offset with
/// <see cref="ToRequestOffset"/>, so the portal sees the same numbers as in process.
/// </summary>
internal readonly struct OwnerPartFrame
{
    public const int HeaderSize = 40;
    public const int SegmentSize = 40;

    /// <summary>Bounds for the decoder only: a request has at most one segment per sub-unit it spans.</summary>
    public const int MaxSegments = 4096;
    public const int MaxOwners = 1024;

    private readonly ReadOnlyMemory<byte> _payload;

    private OwnerPartFrame(ReadOnlyMemory<byte> payload, OwnerOperation operation, WriteFlags flags, int segmentCount, int ownerCount, Guid volume,
        NodeId origin, RequestId id, int bytes)
    {
        _payload = payload;
        Operation = operation;
        Flags = flags;
        SegmentCount = segmentCount;
        OwnerCount = ownerCount;
        Volume = volume;
        Origin = origin;
        Id = id;
        Bytes = bytes;
    }

    /// <summary>The cached writer for PeerLink sends (no closure per request).</summary>
    public static readonly Client.PayloadWriter<OwnerRequest> Writer = static (writer, request) => Write(writer, request);

    public OwnerOperation Operation { get; }

    public WriteFlags Flags { get; }

    public int SegmentCount { get; }

    public int OwnerCount { get; }

    public Guid Volume { get; }

    public NodeId Origin { get; }

    public RequestId Id { get; }

    /// <summary>Sum of the segments' lengths: the bytes written, compared or read.</summary>
    public int Bytes { get; }

    private int SegmentsAt => HeaderSize + (4 * OwnerCount);

    private int DataAt => SegmentsAt + (SegmentSize * SegmentCount);

    /// <summary>Write data of the segments, back to back (Write and CompareAndWrite; empty otherwise).</summary>
    public ReadOnlyMemory<byte> Data => Operation is OwnerOperation.Write or OwnerOperation.CompareAndWrite ? _payload.Slice(DataAt, Bytes) : default;

    /// <summary>Verify data of a COMPARE AND WRITE, laid out like <see cref="Data"/>.</summary>
    public ReadOnlyMemory<byte> Compare => Operation == OwnerOperation.CompareAndWrite ? _payload.Slice(DataAt + Bytes, Bytes) : default;

    /// <summary>Data and verify bytes together (what a receiver must copy to keep a part past the frame).</summary>
    public ReadOnlyMemory<byte> DataArea => _payload[DataAt..];

    public NodeId Owner(int index) => new(BinaryPrimitives.ReadInt32BigEndian(_payload.Span[(HeaderSize + (4 * index))..]));

    /// <summary>Segment <paramref name="index"/> addressed compactly: its buffer offset is where its bytes sit in <see cref="Data"/>.</summary>
    public OwnerSegment Segment(int index, long compactOffset)
    {
        ReadOnlySpan<byte> s = _payload.Span[(SegmentsAt + (SegmentSize * index))..];
        return new OwnerSegment(BinaryPrimitives.ReadInt64BigEndian(s), BinaryPrimitives.ReadInt64BigEndian(s[8..]), compactOffset,
            BinaryPrimitives.ReadInt64BigEndian(s[24..]), BinaryPrimitives.ReadInt64BigEndian(s[32..]));
    }

    /// <summary>Offset of segment <paramref name="index"/>'s bytes in the portal's request buffer.</summary>
    public long RequestOffset(int index) => BinaryPrimitives.ReadInt64BigEndian(_payload.Span[(SegmentsAt + (SegmentSize * index) + 16)..]);

    /// <summary>Length of segment <paramref name="index"/>.</summary>
    public int Length(int index) => (int)BinaryPrimitives.ReadInt64BigEndian(_payload.Span[(SegmentsAt + (SegmentSize * index) + 8)..]);

    /// <summary>A compact byte offset (as the owner reports a miscompare) as an offset in the portal's request; −1 stays −1.</summary>
    public int ToRequestOffset(int compact)
    {
        if (compact < 0)
        {
            return compact;
        }

        int at = 0;
        for (int i = 0; i < SegmentCount; i++)
        {
            int length = Length(i);
            if (compact < at + length)
            {
                return checked((int)(RequestOffset(i) + (compact - at)));
            }

            at += length;
        }

        throw new ArgumentOutOfRangeException(nameof(compact), compact, $"outside the part's {Bytes} bytes");
    }

    /// <summary>The owner set as a new array (ordered parts keep it until applied).</summary>
    public NodeId[] Owners()
    {
        var owners = new NodeId[OwnerCount];
        for (int i = 0; i < owners.Length; i++)
        {
            owners[i] = Owner(i);
        }

        return owners;
    }

    /// <summary>
    /// An <see cref="OwnerRequest"/> for this part (allocated: multi-segment and ordered parts), its
    /// segments addressed compactly into <paramref name="data"/>, <paramref name="compare"/> and <paramref name="destination"/>.
    /// </summary>
    public OwnerRequest ToRequest(ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> compare, Memory<byte> destination)
    {
        var segments = new OwnerSegment[SegmentCount];
        long at = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            segments[i] = Segment(i, at);
            at += segments[i].Length;
        }

        return new OwnerRequest
        {
            Operation = Operation,
            Volume = Volume,
            Origin = Origin,
            Id = Id,
            Owners = OwnerCount == 0 ? default : Owners(),
            Segments = segments,
            Data = data,
            Compare = compare,
            Destination = destination,
            Flags = Flags,
        };
    }

    public static int SizeOf(OwnerRequest request)
    {
        long bytes = 0;
        foreach (OwnerSegment segment in request.Segments)
        {
            bytes += segment.Length;
        }

        return checked(HeaderSize + (4 * request.Owners.Length) + (SegmentSize * request.Segments.Length) + (int)(bytes * DataCopies(request.Operation)));
    }

    public static void Write(IBufferWriter<byte> writer, OwnerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        OwnerSegment[] segments = request.Segments;
        ReadOnlySpan<NodeId> owners = request.Owners.Span;
        long bytes = 0;
        foreach (OwnerSegment segment in segments)
        {
            bytes += segment.Length;
        }

        int fixedSize = HeaderSize + (4 * owners.Length) + (SegmentSize * segments.Length);
        Span<byte> span = writer.GetSpan(fixedSize);
        span[0] = (byte)request.Operation;
        span[1] = (byte)request.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], checked((ushort)segments.Length));
        request.Volume.TryWriteBytes(span[4..20], bigEndian: true, out _);
        BinaryPrimitives.WriteInt32BigEndian(span[20..], request.Origin.Value);
        BinaryPrimitives.WriteUInt64BigEndian(span[24..], request.Id.Value);
        BinaryPrimitives.WriteUInt16BigEndian(span[32..], checked((ushort)owners.Length));
        BinaryPrimitives.WriteUInt16BigEndian(span[34..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[36..], checked((uint)(bytes * DataCopies(request.Operation))));
        int at = HeaderSize;
        foreach (NodeId owner in owners)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[at..], owner.Value);
            at += 4;
        }

        foreach (OwnerSegment segment in segments)
        {
            BinaryPrimitives.WriteInt64BigEndian(span[at..], segment.Offset);
            BinaryPrimitives.WriteInt64BigEndian(span[(at + 8)..], segment.Length);
            BinaryPrimitives.WriteInt64BigEndian(span[(at + 16)..], segment.BufferOffset);
            BinaryPrimitives.WriteInt64BigEndian(span[(at + 24)..], segment.SubUnit);
            BinaryPrimitives.WriteInt64BigEndian(span[(at + 32)..], segment.Epoch);
            at += SegmentSize;
        }

        writer.Advance(fixedSize);
        if (request.Operation is OwnerOperation.Write or OwnerOperation.CompareAndWrite)
        {
            WriteSegmentBytes(writer, segments, request.Data.Span);
        }

        if (request.Operation == OwnerOperation.CompareAndWrite)
        {
            WriteSegmentBytes(writer, segments, request.Compare.Span);
        }
    }

    /// <summary>Decodes and validates every field and length; <paramref name="error"/> says what is wrong otherwise.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> payload, out OwnerPartFrame frame, out string? error)
    {
        frame = default;
        ReadOnlySpan<byte> span = payload.Span;
        if (span.Length < HeaderSize)
        {
            error = $"owner part of {span.Length} bytes is shorter than its {HeaderSize}-byte header";
            return false;
        }

        var operation = (OwnerOperation)span[0];
        if (operation is not (OwnerOperation.Read or OwnerOperation.Write or OwnerOperation.Unmap or OwnerOperation.CompareAndWrite))
        {
            error = $"unknown owner operation {span[0]}";
            return false;
        }

        var flags = (WriteFlags)span[1];
        if ((flags & ~WriteFlags.Fua) != 0)
        {
            error = $"unknown write flags 0x{span[1]:x2}";
            return false;
        }

        int segmentCount = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
        int ownerCount = BinaryPrimitives.ReadUInt16BigEndian(span[32..]);
        uint dataLength = BinaryPrimitives.ReadUInt32BigEndian(span[36..]);
        if (segmentCount is 0 or > MaxSegments || ownerCount == 1 || ownerCount > MaxOwners || BinaryPrimitives.ReadUInt16BigEndian(span[34..]) != 0)
        {
            error = $"bad counts: {segmentCount} segments, {ownerCount} owners, reserved 0x{BinaryPrimitives.ReadUInt16BigEndian(span[34..]):x4}";
            return false;
        }

        long fixedSize = HeaderSize + (4L * ownerCount) + ((long)SegmentSize * segmentCount);
        if (span.Length < fixedSize || span.Length - fixedSize != dataLength)
        {
            error = $"owner part of {span.Length} bytes: {fixedSize} bytes of header, owners and segments plus {dataLength} data bytes expected";
            return false;
        }

        for (int i = 1; i < ownerCount; i++)
        {
            if (BinaryPrimitives.ReadInt32BigEndian(span[(HeaderSize + (4 * i))..]) <= BinaryPrimitives.ReadInt32BigEndian(span[(HeaderSize + (4 * (i - 1)))..]))
            {
                error = "owner set is not strictly increasing";
                return false;
            }
        }

        long bytes = 0;
        for (int i = 0; i < segmentCount; i++)
        {
            ReadOnlySpan<byte> s = span[(int)(HeaderSize + (4 * ownerCount) + (SegmentSize * i))..];
            long offset = BinaryPrimitives.ReadInt64BigEndian(s), length = BinaryPrimitives.ReadInt64BigEndian(s[8..]);
            long requestOffset = BinaryPrimitives.ReadInt64BigEndian(s[16..]), subUnit = BinaryPrimitives.ReadInt64BigEndian(s[24..]);
            if (offset < 0 || length <= 0 || length > int.MaxValue || requestOffset < 0 || requestOffset > int.MaxValue - length || subUnit < 0)
            {
                error = $"segment {i} out of range: offset {offset}, length {length}, request offset {requestOffset}, sub-unit {subUnit}";
                return false;
            }

            bytes += length;
        }

        int copies = DataCopies(operation);
        if (bytes > int.MaxValue / 2 || bytes * copies != dataLength)
        {
            error = $"{operation} part of {bytes} segment bytes carries {dataLength} data bytes";
            return false;
        }

        frame = new OwnerPartFrame(payload, operation, flags, segmentCount, ownerCount, new Guid(span[4..20], bigEndian: true),
            new NodeId(BinaryPrimitives.ReadInt32BigEndian(span[20..])), new RequestId(BinaryPrimitives.ReadUInt64BigEndian(span[24..])), (int)bytes);
        error = null;
        return true;
    }

    private static int DataCopies(OwnerOperation operation) => operation switch
    {
        OwnerOperation.Write => 1,
        OwnerOperation.CompareAndWrite => 2,
        _ => 0,
    };

    private static void WriteSegmentBytes(IBufferWriter<byte> writer, OwnerSegment[] segments, ReadOnlySpan<byte> source)
    {
        foreach (OwnerSegment segment in segments)
        {
            ReadOnlySpan<byte> bytes = source.Slice((int)segment.BufferOffset, (int)segment.Length);
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
        }
    }
}
