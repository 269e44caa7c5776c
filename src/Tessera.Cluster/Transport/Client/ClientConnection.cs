using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Client;

/// <summary>
/// The outbound side of one TCP connection of a <see cref="PeerLink"/>: sends the Hello, then
/// requests; matches responses to pending requests by request id. Requests that are in flight
/// when it closes fail with <see cref="PeerLinkClosedException"/>.
/// </summary>
internal sealed class ClientConnection : FrameConnection
{
    private readonly Dictionary<ulong, PendingRequest> _pending;
    private readonly object _pendingLock = new();
    private readonly List<PendingRequest> _expired = [];
    private readonly TaskCompletionSource<Hello> _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _remote;
    private Exception? _failure;
    private SemaphoreSlim _window;

    public ClientConnection(Socket socket, string remote, InterNodeOptions options, ILogger log)
        : base(socket, options, log)
    {
        _remote = remote;
        _pending = new Dictionary<ulong, PendingRequest>(options.MaxInFlight * 2);
        _window = new SemaphoreSlim(options.MaxInFlight);
        WindowSize = options.MaxInFlight;
    }

    public Task<Hello> Handshake => _handshake.Task;

    /// <summary>The peer's Hello once the handshake is done.</summary>
    public Hello? Peer { get; private set; }

    /// <summary>The negotiated minor version (the smaller of both peers').</summary>
    public byte Minor { get; private set; }

    /// <summary>min(our MaxInFlight, the peer's advertised window).</summary>
    public int WindowSize { get; private set; }

    public SemaphoreSlim Window => _window;

    public int PeerMaxPayload => Peer is null ? Options.MaxPayloadLength : (int)Math.Min(Peer.MaxPayloadLength, int.MaxValue);

    public int InFlight
    {
        get
        {
            lock (_pendingLock)
            {
                return _pending.Count;
            }
        }
    }

    public void SendHello()
    {
        var hello = new Hello(Options.ClusterId, Options.NodeId, (uint)Options.MaxPayloadLength, (uint)Options.MaxInFlight);
        var buffer = new PooledBufferWriter();
        hello.Write(buffer);
        TryWriteFrame(new FrameHeader(MessageType.Hello, FrameFlags.None, FrameStatus.Ok, 0, (uint)buffer.WrittenCount), buffer.WrittenSpan);
        buffer.Reset();
    }

    /// <summary>Takes a window slot without waiting.</summary>
    public bool TryEnterWindow() => _window.Wait(0);

    /// <summary>
    /// Registers <paramref name="request"/> and writes its frame. False, with the window slot given
    /// back and nothing sent, when the connection is already closing: the caller may retry on a new one.
    /// </summary>
    public bool Issue(PendingRequest request)
    {
        lock (_pendingLock)
        {
            if (_failure is not null)
            {
                _window.Release();
                return false;
            }

            _pending.Add(request.Id, request);
        }

        // A false return means the connection is closing: OnClosed fails the request, registered above.
        TryWriteFrame(new FrameHeader(request.MessageType, FrameFlags.None, FrameStatus.Ok, request.Id, (uint)request.Payload.WrittenCount),
            request.Payload.WrittenSpan);
        request.IssuerDone();
        return true;
    }

    /// <summary>Writes a one-way frame; false when the connection is closing.</summary>
    public bool WriteOneWay(ushort messageType, ulong id, ReadOnlySpan<byte> payload) =>
        TryWriteFrame(new FrameHeader(messageType, FrameFlags.OneWay, FrameStatus.Ok, id, (uint)payload.Length), payload);

    public ValueTask WaitForQueueRoom(CancellationToken cancellationToken) => WaitForQueueRoomAsync(cancellationToken);

    /// <summary>Fails requests whose deadline has passed; called from the link's timer.</summary>
    public void ExpireRequests(long nowTicks)
    {
        lock (_pendingLock)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            foreach (PendingRequest request in _pending.Values)
            {
                if (request.DeadlineTicks <= nowTicks)
                {
                    _expired.Add(request);
                }
            }

            foreach (PendingRequest request in _expired)
            {
                _pending.Remove(request.Id);
            }
        }

        for (int i = 0; i < _expired.Count; i++)
        {
            PendingRequest request = _expired[i];
            _window.Release();
            request.SetFailure(new RequestTimeoutException(
                $"request {request.Id} (type {request.MessageType}) to {_remote} got no response within {request.TimeoutMilliseconds} ms"));
        }

        _expired.Clear();
    }

    protected override ValueTask OnFrameAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.MessageType == MessageType.Error)
        {
            throw new FrameProtocolException(header.Status, $"peer {_remote} closed the link: {Text(payload)}", notifyPeer: false);
        }

        if (!header.IsResponse)
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, $"request frame (type {header.MessageType}) on an outbound link");
        }

        if (header.MessageType == MessageType.Hello)
        {
            OnHelloResponse(header, payload);
            return default;
        }

        if (Peer is null)
        {
            throw new FrameProtocolException(FrameStatus.HandshakeRequired, "response before the Hello response");
        }

        PendingRequest? request;
        lock (_pendingLock)
        {
            _pending.Remove(header.RequestId, out request);
        }

        if (request is null)
        {
            return default; // answered after its timeout: the caller has been told already
        }

        byte[]? rented = null;
        int length = (int)header.PayloadLength;
        if (length > 0)
        {
            rented = ArrayPool<byte>.Shared.Rent(length);
            payload.CopyTo(rented);
        }

        _window.Release();
        request.SetResponse(new Response(header.Status, rented, length));
        return default;
    }

    protected override void OnClosed(Exception reason)
    {
        PendingRequest[] failed;
        var error = new PeerLinkClosedException($"link to {_remote} closed: {reason.Message}", reason);
        lock (_pendingLock)
        {
            _failure = error;
            failed = [.. _pending.Values];
            _pending.Clear();
        }

        foreach (PendingRequest request in failed)
        {
            request.SetFailure(error);
        }

        Exception handshakeError = reason is FrameProtocolException { NotifyPeer: false } refused
            ? new HandshakeRejectedException(refused.Status, refused.Message)
            : new PeerUnavailableException($"link to {_remote} closed during the handshake: {reason.Message}", reason);
        _handshake.TrySetException(handshakeError);
    }

    private void OnHelloResponse(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (Peer is not null)
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, "second Hello response");
        }

        if (header.Status != FrameStatus.Ok)
        {
            throw new FrameProtocolException(header.Status, $"peer {_remote} refused the handshake: {Text(payload)}", notifyPeer: false);
        }

        Span<byte> bytes = stackalloc byte[(int)Math.Min(payload.Length, 512)];
        if (payload.Length > bytes.Length || !Protocol.Hello.TryRead(Copy(payload, bytes), out Hello? hello))
        {
            throw new FrameProtocolException(FrameStatus.MalformedFrame, "malformed Hello response");
        }

        if (hello!.ClusterId != Options.ClusterId)
        {
            throw new FrameProtocolException(FrameStatus.ClusterMismatch,
                $"peer {_remote} belongs to cluster {hello.ClusterId}, this node to {Options.ClusterId}");
        }

        Minor = Math.Min(header.Minor, ProtocolVersion.Minor);
        if (hello.Window < (uint)Options.MaxInFlight)
        {
            WindowSize = (int)hello.Window;
            _window = new SemaphoreSlim(WindowSize);
        }

        Peer = hello;
        _handshake.TrySetResult(hello);
    }

    private static ReadOnlySpan<byte> Copy(in ReadOnlySequence<byte> payload, Span<byte> destination)
    {
        payload.CopyTo(destination);
        return destination[..(int)payload.Length];
    }

    private static string Text(in ReadOnlySequence<byte> payload) =>
        payload.Length is 0 or > 4096 ? string.Empty : Encoding.UTF8.GetString(payload);
}
