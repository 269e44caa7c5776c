using System.Buffers;

namespace Tessera.Cluster.Transport.Protocol;

/// <summary>Cuts whole frames off the front of a receive buffer.</summary>
internal static class FrameReader
{
    /// <summary>
    /// Returns false when <paramref name="buffer"/> does not yet hold a whole frame. The length is
    /// checked against <paramref name="maxPayload"/> as soon as the header is in, so an oversized
    /// frame is refused before any of its payload is buffered.
    /// </summary>
    /// <exception cref="FrameProtocolException">The header is not a valid frame header of this version.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, uint maxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        header = default;
        if (buffer.Length < FrameHeader.Size)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(bytes);
        switch (FrameHeader.TryParse(bytes, out header))
        {
            case HeaderCheck.Valid:
                break;
            case HeaderCheck.BadMagic:
                throw new FrameProtocolException(FrameStatus.MalformedFrame, "bad frame magic: not an inter-node protocol stream or lost framing");
            case HeaderCheck.UnsupportedVersion:
                throw new FrameProtocolException(FrameStatus.UnsupportedVersion,
                    $"protocol version {header.Major}.{header.Minor} is not supported; this node speaks {ProtocolVersion.Major}.{ProtocolVersion.Minor}");
            case HeaderCheck.BadCrc:
                throw new FrameProtocolException(FrameStatus.MalformedFrame, "frame header CRC32C mismatch");
            default:
                throw new FrameProtocolException(FrameStatus.MalformedFrame, $"invalid frame header fields ({header})");
        }

        if (header.PayloadLength > maxPayload)
        {
            throw new FrameProtocolException(FrameStatus.FrameTooLarge,
                $"frame payload of {header.PayloadLength} bytes exceeds the maximum of {maxPayload}");
        }

        long total = FrameHeader.Size + (long)header.PayloadLength;
        if (buffer.Length < total)
        {
            return false;
        }

        payload = buffer.Slice(FrameHeader.Size, header.PayloadLength);
        buffer = buffer.Slice(total);
        return true;
    }
}
