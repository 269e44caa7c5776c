using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Client;

/// <summary>
/// This node's link to one peer: requests out, responses in, over one TCP connection at a time.
/// <list type="bullet">
/// <item>Requests complete when the response with their request id arrives (any order).</item>
/// <item>At most the window's worth of requests are in flight; further senders wait (backpressure).</item>
/// <item>Every request has a deadline; a request without a response by then fails with <see cref="RequestTimeoutException"/>.</item>
/// <item>When the connection drops, its in-flight requests fail with <see cref="PeerLinkClosedException"/>
/// and the next request reconnects; after failed attempts the link backs off exponentially and fails
/// requests fast with <see cref="PeerUnavailableException"/> until the next attempt is due.</item>
/// </list>
/// Thread safe. Steady-state requests allocate nothing: pooled request objects, pooled buffers.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    /// <summary>Timer period for deadline checks; timeouts fire within this of their deadline.</summary>
    private const int TickMilliseconds = 50;

    private readonly EndPoint _remote;
    private readonly string _remoteName;
    private readonly InterNodeOptions _options;
    private readonly ILogger _log;
    private readonly object _lock = new();
    private readonly Stack<PendingRequest> _pool = new();
    private readonly Action<PendingRequest> _returnRequest;
    private readonly Timer _timer;
    private ClientConnection? _connection;
    private Task<ClientConnection>? _connecting;
    private int _failures;
    private long _nextAttemptTicks;
    private Exception? _lastFailure;
    private long _nextRequestId;
    private int _waitingForWindow;
    private bool _disposed;

    public PeerLink(EndPoint remote, InterNodeOptions options, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        options.Validate();
        _remote = remote;
        _remoteName = remote.ToString() ?? "peer";
        _options = options;
        _log = log ?? NullLogger.Instance;
        _returnRequest = Return;
        _timer = new Timer(static s => ((PeerLink)s!).OnTick(), this, TickMilliseconds, TickMilliseconds);
    }

    public EndPoint RemoteEndPoint => _remote;

    /// <summary>The peer's node id from its Hello, once connected.</summary>
    public string? RemoteNodeId => Volatile.Read(ref _connection)?.Peer?.NodeId;

    public bool IsConnected => Volatile.Read(ref _connection) is { IsClosed: false };

    /// <summary>The current connection's window (min of ours and the peer's), or ours when not connected.</summary>
    public int Window => Volatile.Read(ref _connection)?.WindowSize ?? _options.MaxInFlight;

    /// <summary>Requests sent and not yet answered, timed out or failed.</summary>
    public int InFlight => Volatile.Read(ref _connection)?.InFlight ?? 0;

    /// <summary>Senders waiting for a window slot (backpressure in effect).</summary>
    public int WaitingForWindow => Volatile.Read(ref _waitingForWindow);

    /// <summary>Connections established so far (1 + reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>Connects now if not connected (requests do this by themselves).</summary>
    public async ValueTask ConnectAsync(CancellationToken cancellationToken = default) =>
        await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask<Response> SendRequestAsync(ushort messageType, ReadOnlyMemory<byte> payload, TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        SendRequestAsync(messageType, payload, static (writer, p) => writer.Write(p.Span), timeout, cancellationToken);

    /// <summary>An empty request the peer's transport answers itself: liveness and round-trip probe.</summary>
    public ValueTask<Response> PingAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        SendCoreAsync(MessageType.Ping, 0, static (_, _) => { }, timeout, cancellationToken);

    /// <summary>
    /// Sends a request of <paramref name="messageType"/> whose payload <paramref name="writePayload"/>
    /// writes from <paramref name="state"/> (before this returns), and completes with the peer's
    /// response. Waits for a window slot and for a connection, all within the timeout (default
    /// <see cref="InterNodeOptions.RequestTimeout"/>); <paramref name="cancellationToken"/> cancels
    /// only those waits, not a request already sent. Dispose the response.
    /// </summary>
    /// <exception cref="FrameTooLargeException">The payload exceeds the peer's maximum; nothing is sent.</exception>
    public ValueTask<Response> SendRequestAsync<TState>(ushort messageType, TState state, PayloadWriter<TState> writePayload,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        CheckApplicationType(messageType);
        return SendCoreAsync(messageType, state, writePayload, timeout, cancellationToken);
    }

    /// <summary>
    /// Sends a frame that gets no response. Waits for a connection and while more than
    /// <see cref="InterNodeOptions.MaxQueuedBytes"/> are queued unsent; completes once the frame is
    /// queued (not when the peer has it).
    /// </summary>
    public ValueTask SendOneWayAsync<TState>(ushort messageType, TState state, PayloadWriter<TState> writePayload,
        CancellationToken cancellationToken = default)
    {
        CheckApplicationType(messageType);
        PendingRequest carrier = Stage(state, writePayload);
        ClientConnection? connection = Volatile.Read(ref _connection);
        if (connection is { IsClosed: false } && connection.UnsentBytes <= _options.MaxQueuedBytes &&
            Fits(carrier, connection) && connection.WriteOneWay(messageType, NextId(), carrier.Payload.WrittenSpan))
        {
            Return(carrier);
            return default;
        }

        return SendOneWaySlowAsync(messageType, carrier, waitForRoom: true, cancellationToken);
    }

    /// <summary>
    /// Fire-and-forget one-way send for callers that cannot wait (e.g. ITokenTransport.Send): never
    /// blocks and ignores the queue bound. If the link must connect first, that happens in the
    /// background; a failure is logged and counted in <see cref="PostFailures"/>.
    /// </summary>
    public void Post<TState>(ushort messageType, TState state, PayloadWriter<TState> writePayload)
    {
        CheckApplicationType(messageType);
        PendingRequest carrier = Stage(state, writePayload);
        ClientConnection? connection = Volatile.Read(ref _connection);
        if (connection is { IsClosed: false } && Fits(carrier, connection) &&
            connection.WriteOneWay(messageType, NextId(), carrier.Payload.WrittenSpan))
        {
            Return(carrier);
            return;
        }

        ValueTask sending = SendOneWaySlowAsync(messageType, carrier, waitForRoom: false, CancellationToken.None);
        if (!sending.IsCompletedSuccessfully)
        {
            _ = ObservePostAsync(sending, messageType);
        }
    }

    /// <summary>One-way sends from <see cref="Post"/> that failed.</summary>
    public long PostFailures => Interlocked.Read(ref _postFailures);

    private long _postFailures;

    public async ValueTask DisposeAsync()
    {
        ClientConnection? connection;
        Task<ClientConnection>? connecting;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            connection = _connection;
            connecting = _connecting;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        if (connecting is not null)
        {
            try
            {
                connection = await connecting.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the attempt failed: nothing to close
            }
        }

        if (connection is not null)
        {
            connection.Abort(new ObjectDisposedException(nameof(PeerLink), "the link was disposed"));
            await connection.Completion.ConfigureAwait(false);
        }
    }

    public override string ToString() => $"link to {_remoteName}";

    private static void CheckApplicationType(ushort messageType)
    {
        if (MessageType.IsControl(messageType) || messageType == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(messageType), messageType, "message types 0-99 are reserved for link control");
        }
    }

    private ValueTask<Response> SendCoreAsync<TState>(ushort messageType, TState state, PayloadWriter<TState> writePayload,
        TimeSpan? timeout, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long timeoutMs = (long)(timeout ?? _options.RequestTimeout).TotalMilliseconds;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeoutMs, 0, nameof(timeout));
        PendingRequest request = Stage(state, writePayload);
        long deadline = Environment.TickCount64 + timeoutMs;
        ClientConnection? connection = Volatile.Read(ref _connection);
        if (connection is { IsClosed: false } && Fits(request, connection) && connection.TryEnterWindow())
        {
            request.Prepare(NextId(), messageType, deadline, timeoutMs);
            if (connection.Issue(request))
            {
                return new ValueTask<Response>(request, request.Version);
            }
        }

        return SendSlowAsync(messageType, request, deadline, timeoutMs, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Response> SendSlowAsync(ushort messageType, PendingRequest request, long deadline, long timeoutMs,
        CancellationToken cancellationToken)
    {
        bool issued = false;
        try
        {
            while (true)
            {
                ClientConnection connection = await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
                CheckSize(request, connection);
                if (!connection.TryEnterWindow() && !await WaitForWindowAsync(connection, deadline, cancellationToken).ConfigureAwait(false))
                {
                    continue; // the connection closed while we waited: reconnect
                }

                request.Prepare(NextId(), messageType, deadline, timeoutMs);
                if (connection.Issue(request))
                {
                    issued = true;
                    break;
                }
            }
        }
        finally
        {
            if (!issued)
            {
                Return(request);
            }
        }

        return await new ValueTask<Response>(request, request.Version).ConfigureAwait(false);
    }

    /// <summary>True with a slot taken; false if the connection closed meanwhile.</summary>
    private async ValueTask<bool> WaitForWindowAsync(ClientConnection connection, long deadline, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waitingForWindow);
        try
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0)
            {
                throw new RequestTimeoutException($"no window slot on the link to {_remoteName} before the request's deadline");
            }

            using CancellationTokenSource? linked = cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connection.ClosedToken)
                : null;
            if (!await connection.Window.WaitAsync(TimeSpan.FromMilliseconds(remaining), linked?.Token ?? connection.ClosedToken).ConfigureAwait(false))
            {
                throw new RequestTimeoutException(
                    $"no window slot on the link to {_remoteName} within the request's timeout ({connection.WindowSize} requests in flight)");
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _waitingForWindow);
        }
    }

    private async ValueTask SendOneWaySlowAsync(ushort messageType, PendingRequest carrier, bool waitForRoom, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                ClientConnection connection = await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
                CheckSize(carrier, connection);
                if (waitForRoom)
                {
                    await connection.WaitForQueueRoom(cancellationToken).ConfigureAwait(false);
                }

                if (connection.WriteOneWay(messageType, NextId(), carrier.Payload.WrittenSpan))
                {
                    return;
                }
            }
        }
        finally
        {
            Return(carrier);
        }
    }

    private async Task ObservePostAsync(ValueTask sending, ushort messageType)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _postFailures);
            _log.LogWarning("{Link}: one-way message type {Type} not sent: {Reason}", this, messageType, ex.Message);
        }
    }

    private ValueTask<ClientConnection> EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        Task<ClientConnection> connecting;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { IsClosed: false } current)
            {
                return new ValueTask<ClientConnection>(current);
            }

            if (_connecting is null)
            {
                long wait = _nextAttemptTicks - Environment.TickCount64;
                if (_failures > 0 && wait > 0)
                {
                    throw new PeerUnavailableException(
                        $"peer {_remoteName} unavailable after {_failures} failed attempt(s), next attempt in {wait} ms: {_lastFailure?.Message}",
                        _lastFailure);
                }

                _connecting = Task.Run(ConnectCoreAsync);
            }

            connecting = _connecting;
        }

        return new ValueTask<ClientConnection>(connecting.WaitAsync(cancellationToken));
    }

    private async Task<ClientConnection> ConnectCoreAsync()
    {
        var socket = new Socket(_remote.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : _remote.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp);
        ClientConnection? connection = null;
        try
        {
            FrameConnection.ConfigureSocket(socket);
            using (var connectTimeout = new CancellationTokenSource(_options.ConnectTimeout))
            {
                await socket.ConnectAsync(_remote, connectTimeout.Token).ConfigureAwait(false);
            }

            connection = new ClientConnection(socket, _remoteName, _options, _log);
            connection.Start();
            connection.SendHello();
            await connection.Handshake.WaitAsync(_options.HandshakeTimeout).ConfigureAwait(false);
            lock (_lock)
            {
                _connecting = null;
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(PeerLink));
                }

                _connection = connection;
                _failures = 0;
                _lastFailure = null;
                Connections++;
            }

            _log.LogDebug("{Link}: connected to node {Node}", this, connection.Peer!.NodeId);
            return connection;
        }
        catch (Exception ex)
        {
            Exception failure = ex switch
            {
                PeerUnavailableException unavailable => unavailable,
                TimeoutException => new PeerUnavailableException($"peer {_remoteName} did not complete the handshake within {_options.HandshakeTimeout}"),
                ObjectDisposedException disposed => disposed,
                _ => new PeerUnavailableException($"cannot connect to {_remoteName}: {ex.Message}", ex),
            };
            if (connection is not null)
            {
                connection.Abort(failure);
            }
            else
            {
                socket.Dispose();
            }

            lock (_lock)
            {
                _connecting = null;
                _failures++;
                _nextAttemptTicks = Environment.TickCount64 + (long)Backoff(_options, _failures).TotalMilliseconds;
                _lastFailure = failure;
            }

            _log.LogDebug("{Link}: connect failed ({Failures}): {Reason}", this, _failures, failure.Message);
            throw failure;
        }
    }

    /// <summary>The wait after <paramref name="failures"/> consecutive failed attempts: min, 2·min, 4·min … capped at max.</summary>
    internal static TimeSpan Backoff(InterNodeOptions options, int failures)
    {
        double ms = options.ReconnectBackoffMin.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
        return TimeSpan.FromMilliseconds(Math.Min(options.ReconnectBackoffMax.TotalMilliseconds, ms));
    }

    private PendingRequest Stage<TState>(TState state, PayloadWriter<TState> writePayload)
    {
        PendingRequest request = Rent();
        try
        {
            writePayload(request.Payload, state);
        }
        catch
        {
            Return(request);
            throw;
        }

        return request;
    }

    /// <summary>Throws when the staged payload exceeds what the peer accepts (the caller still owns the staging object).</summary>
    private static void CheckSize(PendingRequest request, ClientConnection connection)
    {
        if (request.Payload.WrittenCount > connection.PeerMaxPayload)
        {
            throw new FrameTooLargeException(request.Payload.WrittenCount, connection.PeerMaxPayload);
        }
    }

    /// <summary>Fast-path size check: gives the staging object back before throwing.</summary>
    private bool Fits(PendingRequest request, ClientConnection connection)
    {
        int length = request.Payload.WrittenCount;
        if (length > connection.PeerMaxPayload)
        {
            Return(request);
            throw new FrameTooLargeException(length, connection.PeerMaxPayload);
        }

        return true;
    }

    private ulong NextId() => (ulong)Interlocked.Increment(ref _nextRequestId);

    private PendingRequest Rent()
    {
        lock (_pool)
        {
            if (_pool.TryPop(out PendingRequest? request))
            {
                return request;
            }
        }

        return new PendingRequest(_returnRequest);
    }

    private void Return(PendingRequest request)
    {
        request.Payload.Reset();
        lock (_pool)
        {
            if (_pool.Count < 4 * _options.MaxInFlight)
            {
                _pool.Push(request);
            }
        }
    }

    private void OnTick()
    {
        try
        {
            Volatile.Read(ref _connection)?.ExpireRequests(Environment.TickCount64);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "{Link}: deadline check failed", this);
        }
    }
}
