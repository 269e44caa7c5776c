using System.Buffers;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Server;

/// <summary>
/// Serves one message type on an <see cref="InterNodeServer"/>. Handlers run on the thread pool,
/// several at once per link (up to the window) and in no particular order relative to arrival.
/// </summary>
internal interface IFrameHandler
{
    /// <summary>
    /// Handles <paramref name="frame"/>, writing the response payload into <paramref name="response"/>
    /// (a pooled buffer), and returns the status to send: Ok or an application status from
    /// <see cref="FrameStatus.ApplicationBase"/> up. An exception becomes a
    /// <see cref="FrameStatus.HandlerFailed"/> response carrying its message; the link stays up.
    /// <paramref name="cancellationToken"/> fires when the link closes.
    /// </summary>
    ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken);
}

/// <summary>Adapts a delegate to <see cref="IFrameHandler"/>.</summary>
internal sealed class DelegateFrameHandler(Func<InboundFrame, IBufferWriter<byte>, CancellationToken, ValueTask<FrameStatus>> handle) : IFrameHandler
{
    public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken) =>
        handle(frame, response, cancellationToken);
}
