using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// The handshake payload, the same shape both ways (docs/inter-node-protocol.md §3):
/// <code>
///  0 cluster id (16, RFC 4122 byte order)   16 max payload length   20 window (max requests in flight)
/// 24 features (0 in 1.0)                    28 node id length n (1-255)   29 node id, UTF-8
/// </code>
/// The protocol version travels in the frame header.
/// </summary>
internal sealed record Hello(Guid ClusterId, string NodeId, uint MaxPayloadLength, uint Window)
{
    private const int FixedSize = 29;

    public const int MaxNodeIdBytes = 255;

    public void Write(IBufferWriter<byte> writer)
    {
        int idBytes = Encoding.UTF8.GetByteCount(NodeId);
        if (idBytes is 0 or > MaxNodeIdBytes)
        {
            throw new ArgumentException($"node id must be 1-{MaxNodeIdBytes} UTF-8 bytes", nameof(NodeId));
        }

        Span<byte> span = writer.GetSpan(FixedSize + idBytes);
        ClusterId.TryWriteBytes(span, bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32BigEndian(span[16..], MaxPayloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(span[20..], Window);
        BinaryPrimitives.WriteUInt32BigEndian(span[24..], 0);
        span[28] = (byte)idBytes;
        Encoding.UTF8.GetBytes(NodeId, span[FixedSize..]);
        writer.Advance(FixedSize + idBytes);
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out Hello? hello)
    {
        hello = null;
        if (payload.Length < FixedSize + 1)
        {
            return false;
        }

        int idBytes = payload[28];
        if (idBytes == 0 || payload.Length != FixedSize + idBytes)
        {
            return false;
        }

        uint maxPayload = BinaryPrimitives.ReadUInt32BigEndian(payload[16..]);
        uint window = BinaryPrimitives.ReadUInt32BigEndian(payload[20..]);
        if (window == 0)
        {
            return false;
        }

        string nodeId;
        try
        {
            nodeId = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(payload.Slice(FixedSize, idBytes));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        hello = new Hello(new Guid(payload[..16], bigEndian: true), nodeId, maxPayload, window);
        return true;
    }
}
