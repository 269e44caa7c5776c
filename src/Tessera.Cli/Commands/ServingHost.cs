using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Tessera.Cli.Commands;

/// <summary>What `tessera up` and `tessera node` share while they serve: the console log, the stop signal, how endpoints print.</summary>
internal sealed class ServingHost : IDisposable
{
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private readonly CancellationTokenRegistration _cancelled;

    public ServingHost(bool quiet, CancellationToken cancellation)
    {
        Loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information));
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _cancelled = cancellation.Register(() => _stop.TrySetResult());
    }

    public ILoggerFactory Loggers { get; }

    /// <summary>Completes on Ctrl-C, SIGTERM or cancellation.</summary>
    public Task Stopped => _stop.Task;

    /// <summary>"HOST:PORT", IPv6 addresses in brackets.</summary>
    public static string HostPort(IPEndPoint endPoint) =>
        endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult();
    }

    public void Dispose()
    {
        _cancelled.Dispose();
        _sigterm.Dispose();
        _sigint.Dispose();
        Loggers.Dispose();
    }
}
