using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Conformance.Harness;

/// <summary>
/// Tessera run as <c>tessera up --data DIR --portal 127.0.0.1:PORT --size S --nodes N</c> on a
/// fresh temporary data directory: one node, or an N-node cluster in one process whose node i
/// listens on PORT+i−1. Ports and directory stay fixed across restarts, so a restarted target
/// serves the same data at the same URLs.
/// </summary>
internal sealed partial class TesseraNodeHost : ITargetHost
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The name <c>tessera up</c> gives the volume it creates in an empty data directory.</summary>
    private const string DefaultVolumeName = "vol0";

    private int port;
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("tessera-conformance-").FullName;
    private readonly StringBuilder history = new();
    private readonly List<string> volumes = [];
    private ChildProcess? node;
    private string? lunUrl;

    public TesseraNodeHost(long lunSizeBytes = Sizes.GiB, int nodes = 1)
    {
        LunSizeBytes = lunSizeBytes;
        Nodes = nodes;
        port = FreePort.NextRange(nodes);
    }

    public string Name => Nodes == 1 ? "tessera" : $"tessera-{Nodes}-nodes";

    /// <summary>Nodes in the target process.</summary>
    public int Nodes { get; }

    public long LunSizeBytes { get; }

    public string LunUrl => lunUrl ?? throw new InvalidOperationException("node not started");

    public string Log => history + (node?.Log ?? string.Empty);

    public async Task AddVolumeAsync(string name, long sizeBytes, bool readOnly, int physicalBlockSize, CancellationToken cancellationToken)
    {
        // `up` creates its default volume only in an empty catalog; create it first, so LUN 0 stays
        // the default LU (as on tgt) and added volumes come after it.
        if (volumes.Count == 0 && lunUrl is null)
        {
            await CreateVolumeAsync([DefaultVolumeName, "--size", Sizes.ToCli(LunSizeBytes)], cancellationToken);
        }

        List<string> arguments = [name, "--size", Sizes.ToCli(sizeBytes)];
        if (readOnly)
        {
            arguments.Add("--read-only");
        }

        if (physicalBlockSize > 0)
        {
            arguments.AddRange(["--physical-block-size", physicalBlockSize.ToString()]);
        }

        await CreateVolumeAsync(arguments, cancellationToken);
        volumes.Add(name);
    }

    private async Task CreateVolumeAsync(IReadOnlyList<string> nameAndOptions, CancellationToken cancellationToken)
    {
        List<string> arguments = ["volume", "create", .. nameAndOptions, "--data", dataDirectory];
        var result = await RunCliAsync(arguments, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"tessera {string.Join(' ', arguments)} failed (exit {result.ExitCode}):\n{result.Output}");
        }
    }

    public async Task RequireChapAsync(string user, string secret, CancellationToken cancellationToken)
    {
        var result = await RunCliAsync(["chap", "set", "--user", user, "--secret", secret, "--data", dataDirectory], cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"tessera chap set failed (exit {result.ExitCode}):\n{result.Output}");
        }
    }

    public async Task<string> VolumeUrlAsync(string name, CancellationToken cancellationToken)
    {
        if (!volumes.Contains(name))
        {
            throw new ArgumentException($"volume {name} was not added", nameof(name));
        }

        // Prefer what `up` printed for the volume; fall back to `volume list`.
        var fromUp = UrlOnLineNaming(node?.Log ?? string.Empty, name);
        if (fromUp is not null)
        {
            return fromUp;
        }

        var list = await RunCliAsync(["volume", "list", "--data", dataDirectory], cancellationToken);
        var fromList = UrlOnLineNaming(list.Output, name);
        if (fromList is not null)
        {
            return fromList;
        }

        // `volume list` is a table whose first two columns are LUN and NAME.
        foreach (var line in list.Output.Split('\n'))
        {
            var row = LunRow().Match(line);
            if (row.Success && row.Groups[2].Value == name)
            {
                return string.Concat(LunUrl.AsSpan(0, LunUrl.LastIndexOf('/') + 1), row.Groups[1].Value);
            }
        }

        throw new InvalidOperationException($"cannot tell the LUN of volume {name} from `up` or `volume list`:\n{list.Output}");
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (node is { HasExited: false })
        {
            throw new InvalidOperationException("node already running");
        }

        if (node is not null)
        {
            history.Append(node.Log);
            await node.DisposeAsync();
        }

        // The port stays fixed once the node has served (restarts keep the URL); before that,
        // losing the race for a free port to another process just means trying another one.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartOnceAsync(cancellationToken);
                return;
            }
            catch (InvalidOperationException) when (lunUrl is null && attempt < 3 && node is { HasExited: true } &&
                                                    node.Log.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                history.Append(node.Log);
                await node.DisposeAsync();
                node = null;
                port = FreePort.NextRange(Nodes);
            }
        }
    }

    private async Task StartOnceAsync(CancellationToken cancellationToken)
    {
        var launcher = await TesseraBinary.LocateAsync(cancellationToken);
        node = ChildProcess.Start(
            "tessera up",
            launcher.FileName,
            launcher.With(["up", "--data", dataDirectory, "--portal", $"127.0.0.1:{port}", "--size", Sizes.ToCli(LunSizeBytes),
                "--nodes", Nodes.ToString(System.Globalization.CultureInfo.InvariantCulture)]));

        var pattern = new Regex($@"iscsi://127\.0\.0\.1:{port}/[^\s/]+/\d+");
        var match = await node.WaitForLineAsync(pattern, StartTimeout, cancellationToken);
        // `up` prints every LUN's URL, then the connect hints: wait for those so the list is whole.
        await node.WaitForLineAsync(ConnectHint(), StartTimeout, cancellationToken);
        var urls = pattern.Matches(node.Log).Select(m => m.Value).Distinct().ToList();
        var url = urls.FirstOrDefault(u => u.EndsWith("/0", StringComparison.Ordinal)) ?? match.Value;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartTimeout);
        while (!await FreePort.AcceptsAsync(port, deadline.Token))
        {
            if (node.HasExited)
            {
                throw new InvalidOperationException($"tessera up exited after printing its URL:\n{node.Log}");
            }

            await Task.Delay(100, deadline.Token);
        }

        lunUrl = url;
    }

    /// <summary><paramref name="url"/> (on node 1's portal) as served through node <paramref name="nodeNumber"/>'s portal.</summary>
    public string ThroughNode(string url, int nodeNumber) => NodePortals.ThroughNode(url, port, Nodes, nodeNumber);

    public void KillHard() => node?.KillHard();

    public async Task<bool> StopAsync() => node is null || await node.TerminateAsync(TimeSpan.FromSeconds(15));

    public async ValueTask DisposeAsync()
    {
        if (node is not null)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner gets whatever is left.
        }
    }

    private async Task<ToolResult> RunCliAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var launcher = await TesseraBinary.LocateAsync(cancellationToken);
        return await ToolRunner.RunAsync(launcher.FileName, launcher.With(arguments), CliTimeout, cancellationToken);
    }

    private static string? UrlOnLineNaming(string text, string name) =>
        text.Split('\n')
            .Where(l => Regex.IsMatch(l, $@"\b{Regex.Escape(name)}\b"))
            .Select(l => AnyUrl().Match(l))
            .FirstOrDefault(m => m.Success)?.Value;

    [GeneratedRegex(@"iscsi://[^\s/]+/[^\s/]+/\d+")]
    private static partial Regex AnyUrl();

    [GeneratedRegex(@"open-iscsi: ")]
    private static partial Regex ConnectHint();

    [GeneratedRegex(@"^\s*(\d+)\s+(\S+)")]
    private static partial Regex LunRow();
}
