using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Wire form of <see cref="OrderingMessage"/> (C3, docs/token-ordering.md), one message per
/// one-way frame, its kind in the message type (200 Data, 201 Token, 202 Final). Payload, big-endian:
/// <code>
///  0 request id (8)   8 origin node (4)   12 timestamp (8)   20 owner count n (2)   22 owners (4 × n)
/// </code>
/// Bytes after the owners belong to the caller (a Data message's write payload travels there).
/// </summary>
internal static class OrderingFrames
{
    private const int FixedSize = 22;

    /// <summary>Owner sets are bounded by the cluster size; this only guards the decoder.</summary>
    private const int MaxOwners = 1024;

    /// <summary>The writer for <see cref="Client.PeerLink"/> sends, cached (no allocation per message).</summary>
    public static readonly Client.PayloadWriter<OrderingMessage> Writer = static (writer, message) => Write(writer, message);

    /// <summary>Writer for a message plus its ordering domain (16 bytes, big-endian UUID) as caller data.</summary>
    public static readonly Client.PayloadWriter<(OrderingMessage Message, Guid Scope)> ScopedWriter = static (writer, m) => WriteScoped(writer, m.Message, m.Scope);

    public const int ScopeSize = 16;

    public static ushort MessageTypeOf(OrderingMessageKind kind) => kind switch
    {
        OrderingMessageKind.Data => MessageType.OrderingData,
        OrderingMessageKind.Token => MessageType.OrderingToken,
        OrderingMessageKind.Final => MessageType.OrderingFinal,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown ordering message kind"),
    };

    public static int SizeOf(in OrderingMessage message) => FixedSize + (4 * message.Nodes.Length);

    public static void Write(IBufferWriter<byte> writer, in OrderingMessage message)
    {
        int size = SizeOf(message);
        Span<byte> span = writer.GetSpan(size);
        BinaryPrimitives.WriteUInt64BigEndian(span, message.Request.Value);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], message.Origin.Value);
        BinaryPrimitives.WriteInt64BigEndian(span[12..], message.Timestamp);
        ReadOnlySpan<NodeId> nodes = message.Nodes.Span;
        BinaryPrimitives.WriteUInt16BigEndian(span[20..], checked((ushort)nodes.Length));
        for (int i = 0; i < nodes.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[(FixedSize + (4 * i))..], nodes[i].Value);
        }

        writer.Advance(size);
    }

    /// <summary>The message, then the ordering domain it belongs to (one token-ordering node per volume and node).</summary>
    public static void WriteScoped(IBufferWriter<byte> writer, in OrderingMessage message, Guid scope)
    {
        Write(writer, message);
        scope.TryWriteBytes(writer.GetSpan(ScopeSize)[..ScopeSize], bigEndian: true, out _);
        writer.Advance(ScopeSize);
    }

    /// <summary>The domain after a message: exactly 16 bytes must remain.</summary>
    public static bool TryReadScope(ReadOnlySpan<byte> rest, out Guid scope)
    {
        scope = rest.Length == ScopeSize ? new Guid(rest, bigEndian: true) : default;
        return rest.Length == ScopeSize;
    }

    /// <summary>
    /// Decodes a message of frame type <paramref name="messageType"/>. The owner set is copied into
    /// a new array: the ordering node keeps it until the request is applied, past the frame's life.
    /// </summary>
    public static bool TryRead(ushort messageType, ReadOnlySpan<byte> payload, out OrderingMessage message, out int consumed)
    {
        message = default;
        consumed = 0;
        if (payload.Length < FixedSize)
        {
            return false;
        }

        var request = new RequestId(BinaryPrimitives.ReadUInt64BigEndian(payload));
        var origin = new NodeId(BinaryPrimitives.ReadInt32BigEndian(payload[8..]));
        long timestamp = BinaryPrimitives.ReadInt64BigEndian(payload[12..]);
        int count = BinaryPrimitives.ReadUInt16BigEndian(payload[20..]);
        if (count > MaxOwners || payload.Length < FixedSize + (4 * count))
        {
            return false;
        }

        NodeId[] nodes = count == 0 ? [] : new NodeId[count];
        for (int i = 0; i < count; i++)
        {
            nodes[i] = new NodeId(BinaryPrimitives.ReadInt32BigEndian(payload[(FixedSize + (4 * i))..]));
        }

        switch (messageType)
        {
            case MessageType.OrderingData when count > 0:
                message = OrderingMessage.Data(request, origin, nodes);
                break;
            case MessageType.OrderingToken when count > 0:
                message = OrderingMessage.Token(request, origin, nodes, timestamp);
                break;
            case MessageType.OrderingFinal when count == 0:
                message = OrderingMessage.Final(request, timestamp);
                break;
            default:
                return false;
        }

        consumed = FixedSize + (4 * count);
        return true;
    }
}
