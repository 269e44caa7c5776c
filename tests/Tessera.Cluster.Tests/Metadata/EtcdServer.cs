using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>
/// A real single-member etcd on 127.0.0.1 with free ports and a temporary data directory,
/// started once per test class and killed at the end. A missing etcd binary is a test failure
/// with an install hint, never a silent pass.
/// </summary>
public sealed class EtcdServer : IAsyncLifetime
{
    private readonly StringBuilder _log = new();
    private Process? _process;
    private int _clientPort;
    private int _peerPort;
    private string _dataDirectory = "";

    public string Endpoint => $"http://127.0.0.1:{_clientPort}";

    public async Task InitializeAsync()
    {
        _dataDirectory = Path.Combine(Path.GetTempPath(), "tessera-etcd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dataDirectory);
        _clientPort = FreePort();
        _peerPort = FreePort();
        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        Kill();
        await Task.CompletedTask;
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>kill -9 and start again on the same ports and data directory (a crash-restart).</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartAsync();
    }

    /// <summary>kill -9 only; <see cref="StartAsync"/> brings it back.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
    }

    public async Task StartAsync()
    {
        string binary = FindEtcd() ?? throw new InvalidOperationException(
            "etcd is not installed (looked at $TESSERA_ETCD, /usr/bin/etcd and etcd on PATH): install the Debian package etcd-server (./test.sh does) to run the etcd metadata-store tests");
        string client = Endpoint;
        string peer = $"http://127.0.0.1:{_peerPort}";
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", "default", "--data-dir", _dataDirectory,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "default=" + peer,
            // Short raft ticks: the single member elects itself fast, and the minimum lease TTL
            // (1.5 election timeouts) stays below one second.
            "--heartbeat-interval", "10", "--election-timeout", "100",
            "--logger", "zap", "--log-level", "warn",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start etcd");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        await using var probe = EtcdMetadataStore.Connect(client, new EtcdStoreOptions { RequestTimeout = TimeSpan.FromSeconds(1) });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await probe.GetAsync("/health");
                return;
            }
            catch (MetadataStoreException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (MetadataStoreException e)
            {
                throw new InvalidOperationException($"etcd did not become healthy (exited: {process.HasExited}). Log:\n{LogText()}", e);
            }
        }
    }

    public string LogText()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 64 * 1024)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static string? FindEtcd()
    {
        // TESSERA_ETCD names the binary explicitly (and lets the "not installed" path be checked).
        if (Environment.GetEnvironmentVariable("TESSERA_ETCD") is { Length: > 0 } explicitPath)
        {
            return File.Exists(explicitPath) ? explicitPath : null;
        }

        if (File.Exists("/usr/bin/etcd"))
        {
            return "/usr/bin/etcd";
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "etcd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
