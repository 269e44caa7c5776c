using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Wire form of the chunk service (a node's <see cref="ChunkStore"/>), types 110-115, each a
/// request answered by a response. Big-endian; a chunk address is volume (16), stripe (8), column (4),
/// offset in the chunk (4):
/// <code>
/// 110 ChunkRead          address, length (4)                       → the bytes (exactly length)
/// 111 ChunkWrite         address, flags (1), reserved 0 (3), data  → empty
/// 112 ChunkUnmap         address, length (4)                       → empty
/// 113 ChunkUnmapStripes  volume (16), first stripe (8), count (8)  → empty
/// 114 ChunkFlush         volume (16)                               → empty
/// 115 ChunkStatus        address                                   → mapped (1), length (4)
/// </code>
/// Failures answer with a <see cref="VolumeStatus"/>.
/// </summary>
internal static class ChunkFrames
{
    public const int AddressSize = 32;
    public const int ReadSize = AddressSize + 4;
    public const int WriteHeaderSize = AddressSize + 4;
    public const int UnmapSize = AddressSize + 4;
    public const int UnmapStripesSize = 32;
    public const int FlushSize = 16;
    public const int StatusSize = AddressSize;
    public const int StatusResponseSize = 5;

    public static void WriteAddress(Span<byte> span, in ChunkAddress chunk, int offset)
    {
        chunk.Volume.TryWriteBytes(span[..16], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], chunk.Stripe);
        BinaryPrimitives.WriteInt32BigEndian(span[24..], chunk.Column);
        BinaryPrimitives.WriteInt32BigEndian(span[28..], offset);
    }

    public static bool TryReadAddress(ReadOnlySpan<byte> payload, out ChunkAddress chunk, out int offset)
    {
        if (payload.Length < AddressSize)
        {
            (chunk, offset) = (default, 0);
            return false;
        }

        chunk = new ChunkAddress(new Guid(payload[..16], bigEndian: true), BinaryPrimitives.ReadInt64BigEndian(payload[16..]), BinaryPrimitives.ReadInt32BigEndian(payload[24..]));
        offset = BinaryPrimitives.ReadInt32BigEndian(payload[28..]);
        return chunk.Stripe >= 0 && chunk.Column >= 0 && offset >= 0;
    }

    /// <summary>Read and unmap: an address and a length.</summary>
    public static void WriteRange(IBufferWriter<byte> writer, in ChunkAddress chunk, int offset, int length)
    {
        Span<byte> span = writer.GetSpan(ReadSize);
        WriteAddress(span, chunk, offset);
        BinaryPrimitives.WriteInt32BigEndian(span[AddressSize..], length);
        writer.Advance(ReadSize);
    }

    public static bool TryReadRange(ReadOnlySpan<byte> payload, out ChunkAddress chunk, out int offset, out int length)
    {
        length = 0;
        if (payload.Length != ReadSize || !TryReadAddress(payload, out chunk, out offset))
        {
            (chunk, offset) = (default, 0);
            return false;
        }

        length = BinaryPrimitives.ReadInt32BigEndian(payload[AddressSize..]);
        return length >= 0;
    }

    public static void WriteWrite(IBufferWriter<byte> writer, in ChunkAddress chunk, int offset, WriteFlags flags, ReadOnlySpan<byte> data)
    {
        Span<byte> span = writer.GetSpan(WriteHeaderSize + data.Length);
        WriteAddress(span, chunk, offset);
        span[AddressSize] = (byte)flags;
        span.Slice(AddressSize + 1, 3).Clear();
        data.CopyTo(span[WriteHeaderSize..]);
        writer.Advance(WriteHeaderSize + data.Length);
    }

    public static bool TryReadWrite(ReadOnlyMemory<byte> payload, out ChunkAddress chunk, out int offset, out WriteFlags flags, out ReadOnlyMemory<byte> data)
    {
        ReadOnlySpan<byte> span = payload.Span;
        (flags, data) = (WriteFlags.None, default);
        if (span.Length < WriteHeaderSize || !TryReadAddress(span, out chunk, out offset))
        {
            (chunk, offset) = (default, 0);
            return false;
        }

        flags = (WriteFlags)span[AddressSize];
        data = payload[WriteHeaderSize..];
        return (flags & ~WriteFlags.Fua) == 0 && span[AddressSize + 1] == 0 && span[AddressSize + 2] == 0 && span[AddressSize + 3] == 0;
    }

    public static void WriteUnmapStripes(IBufferWriter<byte> writer, Guid volume, long firstStripe, long count)
    {
        Span<byte> span = writer.GetSpan(UnmapStripesSize);
        volume.TryWriteBytes(span[..16], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], firstStripe);
        BinaryPrimitives.WriteInt64BigEndian(span[24..], count);
        writer.Advance(UnmapStripesSize);
    }

    public static bool TryReadUnmapStripes(ReadOnlySpan<byte> payload, out Guid volume, out long firstStripe, out long count)
    {
        if (payload.Length != UnmapStripesSize)
        {
            (volume, firstStripe, count) = (default, 0, 0);
            return false;
        }

        volume = new Guid(payload[..16], bigEndian: true);
        firstStripe = BinaryPrimitives.ReadInt64BigEndian(payload[16..]);
        count = BinaryPrimitives.ReadInt64BigEndian(payload[24..]);
        return firstStripe >= 0 && count >= 0;
    }

    public static void WriteVolume(IBufferWriter<byte> writer, Guid volume)
    {
        volume.TryWriteBytes(writer.GetSpan(FlushSize)[..16], bigEndian: true, out _);
        writer.Advance(FlushSize);
    }

    public static bool TryReadVolume(ReadOnlySpan<byte> payload, out Guid volume)
    {
        volume = payload.Length == FlushSize ? new Guid(payload, bigEndian: true) : default;
        return payload.Length == FlushSize;
    }

    public static void WriteStatusAddress(IBufferWriter<byte> writer, in ChunkAddress chunk, int offset)
    {
        WriteAddress(writer.GetSpan(StatusSize), chunk, offset);
        writer.Advance(StatusSize);
    }

    public static void WriteStatusResponse(IBufferWriter<byte> writer, bool mapped, int length)
    {
        Span<byte> span = writer.GetSpan(StatusResponseSize);
        span[0] = mapped ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], length);
        writer.Advance(StatusResponseSize);
    }

    public static bool TryReadStatusResponse(ReadOnlySpan<byte> payload, out bool mapped, out int length)
    {
        (mapped, length) = (false, 0);
        if (payload.Length != StatusResponseSize || payload[0] > 1)
        {
            return false;
        }

        mapped = payload[0] == 1;
        length = BinaryPrimitives.ReadInt32BigEndian(payload[1..]);
        return length > 0;
    }
}
