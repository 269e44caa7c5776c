using System.Text.Json;

namespace Tessera.Conformance.Harness;

/// <summary>
/// A single-member etcd on 127.0.0.1 — the metadata store of a cluster of <c>tessera node</c>
/// processes. Ports and data directory stay fixed across restarts. A missing etcd binary fails
/// the test with an install hint rather than passing silently.
/// </summary>
internal sealed class EtcdServer : IAsyncDisposable
{
    public const string BinaryVariable = "TESSERA_ETCD";
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(60);

    private readonly string dataDirectory;
    private readonly int clientPort;
    private readonly int peerPort;
    private readonly Action<string>? echo;
    private ChildProcess? process;

    public EtcdServer(string dataDirectory, int clientPort, int peerPort, Action<string>? echo = null)
    {
        this.dataDirectory = dataDirectory;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.echo = echo;
    }

    public string ClientUrl => $"http://127.0.0.1:{clientPort}";

    public bool HasExited => process is null || process.HasExited;

    public string Log => process?.Log ?? string.Empty;

    /// <summary>Starts etcd and returns once it answers <c>/health</c> with a leader.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (process is { HasExited: false })
        {
            throw new InvalidOperationException("etcd already running");
        }

        var binary = Locate() ?? throw new InvalidOperationException(
            $"etcd is not installed (looked at ${BinaryVariable}, /usr/bin/etcd and PATH): install the Debian package etcd-server (./test.sh does)");
        Directory.CreateDirectory(dataDirectory);
        var peer = $"http://127.0.0.1:{peerPort}";
        process = ChildProcess.Start("etcd", binary,
        [
            "--name", "tessera-conformance", "--data-dir", dataDirectory,
            "--listen-client-urls", ClientUrl, "--advertise-client-urls", ClientUrl,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"tessera-conformance={peer}",
            // A lone member elects itself at once whatever the timeouts; these only bound the
            // smallest lease TTL etcd grants (1.5 election timeouts), kept below a second.
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-level", "warn",
        ], echo: echo);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(HealthTimeout);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"etcd exited before it became healthy:\n{process.Log}");
            }

            try
            {
                if (await IsHealthyAsync(http, deadline.Token))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!deadline.IsCancellationRequested)
            {
                // One probe timed out; try again.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"etcd did not become healthy within {HealthTimeout}:\n{process.Log}");
            }

            try
            {
                await Task.Delay(100, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"etcd did not become healthy within {HealthTimeout}:\n{process.Log}");
            }
        }
    }

    /// <summary>etcd's HTTP health endpoint: <c>{"health":"true"}</c> once the member has a leader.</summary>
    private async Task<bool> IsHealthyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"{ClientUrl}/health", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.TryGetProperty("health", out var health) && health.GetString() == "true";
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>.</summary>
    public Task<bool> StopAsync(TimeSpan grace) => process is null ? Task.FromResult(true) : process.TerminateAsync(grace);

    public async ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            await process.DisposeAsync();
            process = null;
        }
    }

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } explicitPath)
        {
            return File.Exists(explicitPath) ? explicitPath : null;
        }

        if (File.Exists("/usr/bin/etcd"))
        {
            return "/usr/bin/etcd";
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "etcd"))
            .FirstOrDefault(File.Exists);
    }
}
