using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Receives ordering frames (types 200-202) and hands each decoded message to
/// <paramref name="deliver"/>, which must serialise calls into its TokenOrderingNode.
/// A frame that does not decode is answered as a handler failure (one-way: logged).
/// </summary>
internal sealed class OrderingFrameHandler(Action<OrderingMessage> deliver) : IFrameHandler
{
    public static void RegisterOn(InterNodeServer server, IFrameHandler handler)
    {
        server.Register(MessageType.OrderingData, handler);
        server.Register(MessageType.OrderingToken, handler);
        server.Register(MessageType.OrderingFinal, handler);
    }

    /// <summary>
    /// A handler for frames that carry an ordering domain after the message (a volume's id, from a
    /// scoped <see cref="LinkTokenTransport"/>): <paramref name="deliver"/> gets the domain too.
    /// </summary>
    public static IFrameHandler Scoped(Action<Guid, OrderingMessage> deliver) => new ScopedHandler(deliver);

    public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        if (!OrderingFrames.TryRead(frame.MessageType, frame.Payload.Span, out OrderingMessage message, out _))
        {
            throw new InvalidDataException($"malformed ordering frame (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
        }

        deliver(message);
        return ValueTask.FromResult(FrameStatus.Ok);
    }

    private sealed class ScopedHandler(Action<Guid, OrderingMessage> deliver) : IFrameHandler
    {
        public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
        {
            ReadOnlySpan<byte> payload = frame.Payload.Span;
            if (!OrderingFrames.TryRead(frame.MessageType, payload, out OrderingMessage message, out int consumed) ||
                !OrderingFrames.TryReadScope(payload[consumed..], out Guid scope))
            {
                throw new InvalidDataException($"malformed scoped ordering frame (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
            }

            deliver(scope, message);
            return ValueTask.FromResult(FrameStatus.Ok);
        }
    }
}
