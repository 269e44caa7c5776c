using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Conformance.Harness;

/// <summary>
/// Tessera as a production cluster: one etcd (the metadata store) and N processes
/// <c>tessera node --etcd URL --id i --nodes N --portal 127.0.0.1:P+i−1 --peer 127.0.0.1:Q+i−1 --data DIR/node-i</c>.
/// Volumes are created with <c>tessera volume create --etcd</c> once every node is up (placement
/// takes the live members); the target counts as started when every node prints every volume's URL.
/// <see cref="KillHard"/> and <see cref="StopAsync"/> end the node processes only: etcd stays, as a
/// cluster's metadata store outlives its nodes; a restart runs the same nodes on the same ports and
/// data directories.
/// </summary>
internal sealed partial class EtcdClusterHost : ITargetHost
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    /// <summary>The default volume, created first so that it is LUN 0, as on the other hosts.</summary>
    private const string DefaultVolumeName = "vol0";

    /// <summary>What <c>tessera node</c> says when its id still holds a membership lease.</summary>
    private const string StaleLease = "is already live in the cluster";

    private readonly string root = Directory.CreateTempSubdirectory("tessera-conformance-etcd-").FullName;
    private readonly StringBuilder log = new();
    private readonly List<VolumeSpec> volumes = [];
    private readonly ChildProcess?[] nodes;
    private EtcdServer? etcd;
    private int portalBase;
    private int peerBase;
    private int etcdClientPort;
    private int etcdPeerPort;
    private bool volumesCreated;
    private string? lunUrl;

    public EtcdClusterHost(long lunSizeBytes = Sizes.GiB, int nodes = 6)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        LunSizeBytes = lunSizeBytes;
        Nodes = nodes;
        this.nodes = new ChildProcess?[nodes];
        volumes.Add(new VolumeSpec(DefaultVolumeName, lunSizeBytes, ReadOnly: false, PhysicalBlockSize: 0));
        PickPorts();
    }

    public string Name => $"tessera-etcd-{Nodes}-processes";

    /// <summary>Node processes.</summary>
    public int Nodes { get; }

    public long LunSizeBytes { get; }

    public string LunUrl => lunUrl ?? throw new InvalidOperationException("cluster not started");

    /// <summary>The etcd client URL (valid once started).</summary>
    public string EtcdUrl => etcd?.ClientUrl ?? throw new InvalidOperationException("cluster not started");

    /// <summary>Every line of etcd and of every node process, in arrival order, across restarts.</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    public Task AddVolumeAsync(string name, long sizeBytes, bool readOnly, int physicalBlockSize, CancellationToken cancellationToken)
    {
        if (volumesCreated)
        {
            throw new InvalidOperationException("volumes are added before the first start");
        }

        if (volumes.Any(v => v.Name == name))
        {
            throw new ArgumentException($"volume {name} already added", nameof(name));
        }

        volumes.Add(new VolumeSpec(name, sizeBytes, readOnly, physicalBlockSize));
        return Task.CompletedTask;
    }

    public Task RequireChapAsync(string user, string secret, CancellationToken cancellationToken) =>
        throw new NotSupportedException("CHAP is not wired into the etcd cluster harness");

    public Task<string> VolumeUrlAsync(string name, CancellationToken cancellationToken)
    {
        if (volumes.All(v => v.Name != name))
        {
            throw new ArgumentException($"volume {name} was not added", nameof(name));
        }

        var url = nodes[0] is { } first ? ServedUrl(first.Log, 1, name) : null;
        return url is not null
            ? Task.FromResult(url)
            : throw new InvalidOperationException($"node 1 has not printed the URL of volume {name}; start the cluster first");
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (nodes.Any(n => n is { HasExited: false }))
        {
            throw new InvalidOperationException("node processes already running");
        }

        await DisposeNodesAsync();
        if (volumesCreated)
        {
            await StartNodesAsync(cancellationToken);
            await WaitUntilServedAsync(cancellationToken);
            return;
        }

        // Before the first volume exists nothing is tied to the ports yet: losing a port to another
        // process just means starting over on fresh ports, with a fresh etcd and data directories.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                etcd ??= new EtcdServer(Path.Combine(root, "etcd"), etcdClientPort, etcdPeerPort, Echo("etcd"));
                if (etcd.HasExited)
                {
                    await etcd.StartAsync(cancellationToken);
                }

                await StartNodesAsync(cancellationToken);
                foreach (var volume in volumes)
                {
                    await CreateVolumeAsync(volume, cancellationToken);
                }

                volumesCreated = true;
                await WaitUntilServedAsync(cancellationToken);
                return;
            }
            catch (Exception) when (!volumesCreated && attempt < 3 && LostAPort())
            {
                Append("harness", $"a port was taken by another process (attempt {attempt}); starting over on fresh ports");
                await DisposeNodesAsync();
                await etcd!.DisposeAsync();
                etcd = null;
                Directory.Delete(root, recursive: true);
                Directory.CreateDirectory(root);
                PickPorts();
            }
        }
    }

    /// <summary><paramref name="url"/> (on node 1's portal) as served through node <paramref name="nodeNumber"/>'s portal.</summary>
    public string ThroughNode(string url, int nodeNumber) => NodePortals.ThroughNode(url, portalBase, Nodes, nodeNumber);

    /// <summary><c>kill -9</c> of every node process; etcd keeps running.</summary>
    public void KillHard()
    {
        foreach (var node in nodes)
        {
            node?.KillHard();
        }
    }

    /// <summary>SIGTERM to every node process at once; false if any had to be killed.</summary>
    public async Task<bool> StopAsync()
    {
        var clean = await Task.WhenAll(nodes.Where(n => n is not null).Select(n => n!.TerminateAsync(StopGrace)));
        return clean.All(c => c);
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeNodesAsync();
        if (etcd is not null)
        {
            await etcd.DisposeAsync();
        }

        SaveLog();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the OS temp cleaner gets whatever is left.
        }
    }

    /// <summary>Portals P..P+N−1, peers Q..Q+N−1 and etcd's two ports, all distinct.</summary>
    private void PickPorts()
    {
        portalBase = FreePort.NextRange(Nodes);
        var taken = Enumerable.Range(portalBase, Nodes).ToHashSet();
        do
        {
            peerBase = FreePort.NextRange(Nodes);
        }
        while (Enumerable.Range(peerBase, Nodes).Any(taken.Contains));

        taken.UnionWith(Enumerable.Range(peerBase, Nodes));
        do
        {
            etcdClientPort = FreePort.Next();
        }
        while (taken.Contains(etcdClientPort));

        taken.Add(etcdClientPort);
        do
        {
            etcdPeerPort = FreePort.Next();
        }
        while (taken.Contains(etcdPeerPort));
    }

    private int Portal(int node) => portalBase + node - 1;

    private int Peer(int node) => peerBase + node - 1;

    private string DataDirectory(int node) => Path.Combine(root, $"node-{node}");

    /// <summary>
    /// Launches every node process, then waits until each prints that it listens. A node killed with
    /// <c>kill -9</c> leaves its membership lease behind until it lapses, and a node restarted before
    /// that refuses to start ("already live"); like a service manager, the harness starts it again.
    /// </summary>
    private async Task StartNodesAsync(CancellationToken cancellationToken)
    {
        var launcher = await TesseraBinary.LocateAsync(cancellationToken);
        var deadline = DateTime.UtcNow + StartTimeout;
        await Task.WhenAll(Enumerable.Range(1, Nodes).Select(n => StartNodeAsync(launcher, n, deadline, cancellationToken)));
    }

    private async Task StartNodeAsync(Launcher launcher, int n, DateTime deadline, CancellationToken cancellationToken)
    {
        Launch(launcher, n);
        while (true)
        {
            var node = nodes[n - 1]!;
            try
            {
                await node.WaitForLineAsync(new Regex($@"node {n} up\b"), Remaining(deadline), cancellationToken);
                return;
            }
            catch (InvalidOperationException) when (node.HasExited && DateTime.UtcNow < deadline &&
                                                    node.Log.Contains(StaleLease, StringComparison.Ordinal))
            {
                await node.DisposeAsync();
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                Append($"node {n}", "[harness] its previous lease is still live; starting it again");
                Launch(launcher, n);
            }
        }
    }

    private void Launch(Launcher launcher, int n)
    {
        Directory.CreateDirectory(DataDirectory(n));
        nodes[n - 1] = ChildProcess.Start($"tessera node {n}", launcher.FileName, launcher.With(
        [
            "node", "--etcd", EtcdUrl, "--id", Invariant(n), "--nodes", Invariant(Nodes),
            "--portal", $"127.0.0.1:{Portal(n)}", "--peer", $"127.0.0.1:{Peer(n)}", "--data", DataDirectory(n),
        ]), echo: Echo($"node {n}"));
    }

    /// <summary>
    /// Waits until every node prints every volume's URL on its own portal (a node serves a LUN once
    /// every sub-unit has an owner), then until every portal accepts connections.
    /// </summary>
    private async Task WaitUntilServedAsync(CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + StartTimeout;
        for (var n = 1; n <= Nodes; n++)
        {
            foreach (var volume in volumes)
            {
                await nodes[n - 1]!.WaitForLineAsync(ServedLine(n, volume.Name), Remaining(until), cancellationToken);
            }
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartTimeout);
        for (var n = 1; n <= Nodes; n++)
        {
            while (!await FreePort.AcceptsAsync(Portal(n), deadline.Token))
            {
                if (nodes[n - 1]!.HasExited)
                {
                    throw new InvalidOperationException($"node {n} exited after printing its URLs:\n{nodes[n - 1]!.Log}");
                }

                await Task.Delay(100, deadline.Token);
            }
        }

        var url = ServedUrl(nodes[0]!.Log, 1, DefaultVolumeName)!;
        if (lunUrl is not null && lunUrl != url)
        {
            throw new InvalidOperationException($"the default volume moved from {lunUrl} to {url} across a restart");
        }

        lunUrl = url;
    }

    private async Task CreateVolumeAsync(VolumeSpec volume, CancellationToken cancellationToken)
    {
        List<string> arguments = ["volume", "create", volume.Name, "--size", Sizes.ToCli(volume.SizeBytes), "--etcd", EtcdUrl];
        if (volume.ReadOnly)
        {
            arguments.Add("--read-only");
        }

        if (volume.PhysicalBlockSize > 0)
        {
            arguments.AddRange(["--physical-block-size", Invariant(volume.PhysicalBlockSize)]);
        }

        var launcher = await TesseraBinary.LocateAsync(cancellationToken);
        var result = await ToolRunner.RunAsync(launcher.FileName, launcher.With(arguments), CliTimeout, cancellationToken);
        Append("harness", $"$ tessera {string.Join(' ', arguments)}  (exit {result.ExitCode})\n{result.Output.TrimEnd()}");
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"tessera {string.Join(' ', arguments)} failed (exit {result.ExitCode}):\n{result.Output}");
        }
    }

    /// <summary>A node's line for a served volume: <c>  iscsi://127.0.0.1:P/IQN/LUN   (NAME, SIZE[, read-only])</c>.</summary>
    private Regex ServedLine(int node, string volume) =>
        new($@"(iscsi://127\.0\.0\.1:{Portal(node)}/[^\s/]+/\d+)\s+\({Regex.Escape(volume)}[,)]");

    private string? ServedUrl(string nodeLog, int node, string volume) =>
        ServedLine(node, volume).Match(nodeLog) is { Success: true } match ? match.Groups[1].Value : null;

    private bool LostAPort() =>
        nodes.Any(n => n is { HasExited: true } && n.Log.Contains("in use", StringComparison.OrdinalIgnoreCase)) ||
        (etcd is { HasExited: true } && etcd.Log.Contains("in use", StringComparison.OrdinalIgnoreCase));

    private async Task DisposeNodesAsync()
    {
        await Task.WhenAll(nodes.Where(n => n is not null).Select(n => n!.DisposeAsync().AsTask()));
        Array.Clear(nodes);
    }

    private Action<string> Echo(string source) => line => Append(source, line);

    private void Append(string source, string line)
    {
        lock (log)
        {
            foreach (var part in line.Split('\n'))
            {
                log.Append(source).Append(' ').Append(part).Append('\n');
            }
        }
    }

    /// <summary>
    /// The whole interleaved log beside the conformance reports: seven processes outgrow the tail a
    /// failing test prints.
    /// </summary>
    private void SaveLog()
    {
        try
        {
            var directory = Libiscsi.ConformanceSettings.ReportsDirectory;
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, $"{Name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log"), Log);
        }
        catch (IOException)
        {
            // The log is a diagnostic; losing it must not fail the test.
        }
    }

    private static TimeSpan Remaining(DateTime deadline) =>
        deadline > DateTime.UtcNow ? deadline - DateTime.UtcNow : TimeSpan.Zero;

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record VolumeSpec(string Name, long SizeBytes, bool ReadOnly, int PhysicalBlockSize);
}
