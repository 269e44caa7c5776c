using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Iscsi.Connection;
using Tessera.Iscsi.Session;
using Tessera.Scsi;

namespace Tessera.Iscsi;

/// <summary>
/// The iSCSI portal of one node: accepts TCP connections and runs one
/// <see cref="IscsiConnection"/> per connection against the node's SCSI target.
/// </summary>
public sealed class IscsiTargetServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<IscsiConnection> _connections = [];
    private readonly List<Task> _connectionTasks = [];
    private Socket? _listener;
    private Task? _acceptLoop;

    public IscsiTargetServer(IscsiTargetOptions options, IScsiTarget target, ILoggerFactory? loggerFactory = null)
    {
        Options = options;
        Target = target;
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger("Tessera.Iscsi");
    }

    public IscsiTargetOptions Options { get; }
    internal IScsiTarget Target { get; }
    internal ILoggerFactory LoggerFactory { get; }
    internal ILogger Logger { get; }
    internal SessionTable Sessions { get; } = new();

    /// <summary>The bound endpoint (useful with port 0).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>Number of live sessions (normal and discovery).</summary>
    public int SessionCount => Sessions.Count;

    public void Start(IPEndPoint endPoint)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endPoint);
        listener.Listen(128);
        _listener = listener;
        _acceptLoop = AcceptLoopAsync(listener);
        Logger.LogInformation("iSCSI portal listening on {EndPoint}", listener.LocalEndPoint);
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
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException ex)
            {
                Logger.LogWarning(ex, "accept failed");
                continue;
            }
            socket.NoDelay = true;
            var connection = new IscsiConnection(this, socket);
            lock (_connections)
            {
                _connections.Add(connection);
                _connectionTasks.RemoveAll(t => t.IsCompleted);
                _connectionTasks.Add(RunConnectionAsync(connection));
            }
        }
    }

    private async Task RunConnectionAsync(IscsiConnection connection)
    {
        try
        {
            await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A connection's failure must never take the node down (guide: bad input never crashes a node).
            Logger.LogWarning(ex, "connection {Connection} failed", connection);
        }
        finally
        {
            lock (_connections) _connections.Remove(connection);
        }
    }

    /// <summary>TARGET COLD RESET (RFC 7143 11.5.1): every connection of the target is closed.</summary>
    internal void CloseAllConnections(IscsiConnection? except)
    {
        IscsiConnection[] all;
        lock (_connections) all = [.. _connections];
        foreach (var c in all)
            if (!ReferenceEquals(c, except)) c.Abort("target cold reset");
    }

    /// <summary>Stops accepting, asks initiators to log out, then closes every connection.</summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        if (_stopping.IsCancellationRequested) return;
        _listener?.Dispose();
        IscsiConnection[] all;
        lock (_connections) all = [.. _connections];
        foreach (var c in all) c.RequestLogout(grace);
        Task[] tasks;
        lock (_connections) tasks = [.. _connectionTasks];
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(grace)).ConfigureAwait(false);
        _stopping.Cancel();
        foreach (var c in all) c.Abort("target shutting down");
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => StopAsync(TimeSpan.Zero);
}
