using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Server;

/// <summary>
/// A node's inter-node listener: accepts links from peers, runs the handshake (refusing other
/// clusters and other major versions) and dispatches requests to the handler registered for
/// their message type. A misbehaving link is closed on its own; the others keep being served.
/// </summary>
internal sealed class InterNodeServer : IAsyncDisposable
{
    private readonly InterNodeOptions _options;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<ushort, IFrameHandler> _handlers = new();
    private readonly ConcurrentDictionary<InboundLink, byte> _links = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private long _protocolErrors;
    private long _handlerFailures;
    private long _unknownTypes;

    public InterNodeServer(InterNodeOptions options, ILogger? log = null)
    {
        options.Validate();
        _options = options;
        _log = log ?? NullLogger.Instance;
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? throw new InvalidOperationException("not started");

    /// <summary>Links open now (handshake done or pending).</summary>
    public int LinkCount => _links.Count;

    /// <summary>Links closed because the peer broke the protocol (or was refused).</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    public long UnknownTypeRequests => Interlocked.Read(ref _unknownTypes);

    /// <summary>Routes requests of <paramref name="messageType"/> (100 and up; 1-99 are the transport's) to <paramref name="handler"/>.</summary>
    public void Register(ushort messageType, IFrameHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (messageType == 0 || MessageType.IsControl(messageType))
        {
            throw new ArgumentOutOfRangeException(nameof(messageType), messageType, "message types 0-99 are reserved for link control");
        }

        if (!_handlers.TryAdd(messageType, handler))
        {
            throw new InvalidOperationException($"message type {messageType} already has a handler");
        }
    }

    /// <summary>Listens on <paramref name="endpoint"/> (port 0 picks a free one) and starts accepting.</summary>
    public IPEndPoint Start(IPEndPoint endpoint)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("already started");
        }

        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener);
        return LocalEndPoint;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _listener?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        foreach (InboundLink link in _links.Keys)
        {
            link.CloseWithError(FrameStatus.ShuttingDown, $"node {_options.NodeId} is stopping");
        }

        await Task.WhenAll(_links.Keys.Select(l => l.Completion)).ConfigureAwait(false);
    }

    internal IFrameHandler? FindHandler(ushort messageType) => _handlers.TryGetValue(messageType, out IFrameHandler? handler) ? handler : null;

    internal void CountHandlerFailure() => Interlocked.Increment(ref _handlerFailures);

    internal void CountUnknownType() => Interlocked.Increment(ref _unknownTypes);

    internal void OnLinkClosed(InboundLink link, Exception reason)
    {
        if (reason is FrameProtocolException { Status: not FrameStatus.ShuttingDown })
        {
            Interlocked.Increment(ref _protocolErrors);
        }
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                _log.LogWarning("inter-node accept failed: {Reason}", ex.Message);
                continue;
            }

            try
            {
                FrameConnection.ConfigureSocket(socket);
            }
            catch (SocketException)
            {
                socket.Dispose(); // the peer is already gone
                continue;
            }

            var link = new InboundLink(this, socket, _options, _log);
            _links.TryAdd(link, 0);
            link.Start();
            _ = RunLinkAsync(link);
        }
    }

    private async Task RunLinkAsync(InboundLink link)
    {
        try
        {
            await Task.WhenAll(link.Completion, link.EnforceHandshakeTimeoutAsync()).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "{Link}: failed", link);
        }
        finally
        {
            _links.TryRemove(link, out _);
        }
    }
}
