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
    public static void RegisterOn(InterNodeServer server, OrderingFrameHandler handler)
    {
        server.Register(MessageType.OrderingData, handler);
        server.Register(MessageType.OrderingToken, handler);
        server.Register(MessageType.OrderingFinal, handler);
    }

    public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        if (!OrderingFrames.TryRead(frame.MessageType, frame.Payload.Span, out OrderingMessage message, out _))
        {
            throw new InvalidDataException($"malformed ordering frame (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
        }

        deliver(message);
        return ValueTask.FromResult(FrameStatus.Ok);
    }
}
