using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Server;

/// <summary>
/// The accepting side of one link: expects a Hello first, then dispatches request frames to the
/// server's handlers. At most MaxInFlight handlers run per link; beyond that the receive loop
/// stops reading, so a peer that ignores its window is held back by TCP flow control.
/// </summary>
internal sealed class InboundLink : FrameConnection
{
    private readonly InterNodeServer _server;
    private readonly SemaphoreSlim _handlerSlots;
    private readonly Stack<InboundRequest> _pool = new();
    private string? _remoteNodeId;
    private int _peerMaxPayload;
    private int _running;

    public InboundLink(InterNodeServer server, Socket socket, InterNodeOptions options, ILogger log)
        : base(socket, options, log)
    {
        _server = server;
        _handlerSlots = new SemaphoreSlim(options.MaxInFlight);
    }

    /// <summary>The peer's node id once its Hello is accepted.</summary>
    public string RemoteNodeId => _remoteNodeId ?? string.Empty;

    public bool IsEstablished => _remoteNodeId is not null;

    /// <summary>Handlers running now on this link.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Closes the link if the peer has not sent its Hello within the handshake timeout.</summary>
    public async Task EnforceHandshakeTimeoutAsync()
    {
        try
        {
            await Task.Delay(Options.HandshakeTimeout, ClosedToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (!IsEstablished)
        {
            CloseWithError(FrameStatus.HandshakeRequired, $"no Hello within {Options.HandshakeTimeout.TotalSeconds:0.###} s");
        }
    }

    /// <summary>Sends the response of a finished request and recycles it; called on the handler's thread.</summary>
    public void Complete(InboundRequest request, FrameStatus status, Exception? error)
    {
        try
        {
            if (error is not null)
            {
                _server.CountHandlerFailure();
                if (request.IsOneWay)
                {
                    Log.LogWarning(error, "{Link}: one-way handler for type {Type} failed", this, request.MessageType);
                }

                request.Response.Reset();
                Utf8(request.Response, $"{error.GetType().Name}: {error.Message}");
                status = FrameStatus.HandlerFailed;
            }
            else if (request.Response.WrittenCount > _peerMaxPayload)
            {
                // Sent as is, it would make the peer close the whole link.
                int length = request.Response.WrittenCount;
                request.Response.Reset();
                Utf8(request.Response, $"response of {length} bytes exceeds the peer's maximum payload of {_peerMaxPayload}");
                status = FrameStatus.HandlerFailed;
                _server.CountHandlerFailure();
            }

            if (!request.IsOneWay)
            {
                TryWriteFrame(new FrameHeader(request.MessageType, FrameFlags.Response, status, request.RequestId, (uint)request.Response.WrittenCount),
                    request.Response.WrittenSpan);
            }
        }
        finally
        {
            request.Release();
            lock (_pool)
            {
                if (_pool.Count < Options.MaxInFlight)
                {
                    _pool.Push(request);
                }
            }

            Interlocked.Decrement(ref _running);
            _handlerSlots.Release();
        }
    }

    protected override ValueTask OnFrameAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.MessageType == MessageType.Error)
        {
            throw new FrameProtocolException(header.Status, $"peer closed the link: {Text(payload)}", notifyPeer: false);
        }

        if (header.IsResponse)
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, $"response frame (type {header.MessageType}) on an inbound link");
        }

        if (_remoteNodeId is null)
        {
            if (header.MessageType != MessageType.Hello)
            {
                throw new FrameProtocolException(FrameStatus.HandshakeRequired, $"first frame must be a Hello, got type {header.MessageType}");
            }

            OnHello(header, payload);
            return default;
        }

        switch (header.MessageType)
        {
            case MessageType.Hello:
                throw new FrameProtocolException(FrameStatus.MalformedFrame, "second Hello on an established link");
            case MessageType.Ping:
                Respond(header, FrameStatus.Ok, []);
                return default;
        }

        IFrameHandler? handler = _server.FindHandler(header.MessageType);
        if (handler is null)
        {
            _server.CountUnknownType();
            Respond(header, FrameStatus.UnknownMessageType, $"no handler for message type {header.MessageType} on node {Options.NodeId}");
            return default;
        }

        if (_handlerSlots.Wait(0))
        {
            Dispatch(handler, header, payload);
            return default;
        }

        return DispatchWhenSlotFreeAsync(handler, header, payload);
    }

    protected override void OnClosed(Exception reason) => _server.OnLinkClosed(this, reason);

    private async ValueTask DispatchWhenSlotFreeAsync(IFrameHandler handler, FrameHeader header, ReadOnlySequence<byte> payload)
    {
        // The frame stays in the input pipe meanwhile, and nothing more is read: backpressure.
        await _handlerSlots.WaitAsync(ClosedToken).ConfigureAwait(false);
        Dispatch(handler, header, payload);
    }

    private void Dispatch(IFrameHandler handler, in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        InboundRequest? request;
        lock (_pool)
        {
            _pool.TryPop(out request);
        }

        request ??= new InboundRequest(this);
        request.Prepare(handler, header, payload);
        Interlocked.Increment(ref _running);
        ThreadPool.UnsafeQueueUserWorkItem(request, preferLocal: false);
    }

    private void OnHello(in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        Span<byte> bytes = stackalloc byte[512];
        if (payload.Length > bytes.Length)
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, "Hello payload too long");
        }

        payload.CopyTo(bytes);
        if (!Hello.TryRead(bytes[..(int)payload.Length], out Hello? hello))
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, "malformed Hello");
        }

        if (hello!.ClusterId != Options.ClusterId)
        {
            string why = $"node {hello.NodeId} belongs to cluster {hello.ClusterId}, node {Options.NodeId} to cluster {Options.ClusterId}";
            Respond(header, FrameStatus.ClusterMismatch, why);
            LingerOnClose();
            throw new FrameProtocolException(FrameStatus.ClusterMismatch, why, notifyPeer: false);
        }

        var buffer = new PooledBufferWriter();
        new Hello(Options.ClusterId, Options.NodeId, (uint)Options.MaxPayloadLength, (uint)Options.MaxInFlight).Write(buffer);
        _peerMaxPayload = (int)Math.Min(hello.MaxPayloadLength, int.MaxValue);
        _remoteNodeId = hello.NodeId;
        Respond(header, FrameStatus.Ok, buffer.WrittenSpan);
        buffer.Reset();
        Log.LogDebug("{Link}: node {Node} connected (v{Major}.{Minor})", this, hello.NodeId, header.Major, header.Minor);
    }

    private void Respond(in FrameHeader request, FrameStatus status, ReadOnlySpan<byte> payload)
    {
        if (request.IsOneWay)
        {
            return;
        }

        TryWriteFrame(new FrameHeader(request.MessageType, FrameFlags.Response, status, request.RequestId, (uint)payload.Length), payload);
    }

    private void Respond(in FrameHeader request, FrameStatus status, string message) => Respond(request, status, Encoding.UTF8.GetBytes(message));

    private static void Utf8(IBufferWriter<byte> writer, string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        int written = Encoding.UTF8.GetBytes(text, writer.GetSpan(max));
        writer.Advance(written);
    }

    private static string Text(in ReadOnlySequence<byte> payload) =>
        payload.Length is 0 or > 4096 ? string.Empty : Encoding.UTF8.GetString(payload);
}
