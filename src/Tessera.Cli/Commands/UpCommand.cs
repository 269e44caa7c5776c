using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Cli.Node;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

/// <summary>`tessera up`: run a node on the embedded default until Ctrl-C or SIGTERM.</summary>
internal static class UpCommand
{
    public const string DefaultVolumeName = "vol0";

    /// <summary>Nodes a new data directory gets: the smallest cluster a 4+2 volume fits.</summary>
    public const int DefaultNodes = Tessera.Cluster.Volume.InProcessCluster.DefaultNodeCount;

    public static Command Create()
    {
        var data = CommonOptions.Data();
        var portal = new Option<string>("--portal")
        {
            Description = "iSCSI portal to listen on (HOST:PORT). Saved in the data directory. Default 127.0.0.1:3260.",
            HelpName = "HOST:PORT",
        };
        portal.Validators.Add(r =>
        {
            string? text = r.GetValueOrDefault<string>();
            if (text is not null && !NodeSettings.TryParsePortal(text, out _, out _, out string? error)) r.AddError($"--portal: {error}");
        });
        var size = CommonOptions.Size("Size of the default volume created on first start.", "1GiB");
        var quiet = new Option<bool>("--quiet") { Description = "Log warnings and errors only." };
        var nodes = new Option<int?>("--nodes")
        {
            Description = "Nodes in this process: 6 or more for a 4+2 double-parity cluster whose node i listens on PORT+i-1 (default "
                + $"{DefaultNodes} on a new data directory), or 1 for a single node. Fixed by the first start of a data directory.",
        };
        nodes.Validators.Add(r =>
        {
            int n = r.GetValueOrDefault<int?>() ?? DefaultNodes;
            if (n != 1 && (n < 6 || n > 64)) r.AddError($"--nodes must be 1 or 6..64 (4 data + 2 parity columns need 6 nodes), not {n}");
        });
        var command = new Command("up", "Start a node serving the data directory's volumes over iSCSI (creates a default volume the first time).")
        {
            data, portal, size, quiet, nodes,
        };
        command.SetAction((parse, cancellation) => RunAsync(parse.GetValue(data)!, parse.GetValue(portal),
            CommonOptions.ParseSize(parse.GetValue(size)!), parse.GetValue(quiet), parse.GetValue(nodes), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string dataDirectory, string? portalText, long defaultSize, bool quiet, int? nodesOption, CancellationToken cancellation)
    {
        using var serving = new ServingHost(quiet, cancellation);
        ILoggerFactory loggerFactory = serving.Loggers;

        // Store notices (interrupted-write cleanup, a failed final flush) go to the node's log.
        ILogger storageLog = loggerFactory.CreateLogger("Tessera.Storage");
        var catalog = new VolumeCatalog(dataDirectory, message => storageLog.LogWarning("{Message}", message));
        var settings = NodeSettings.LoadOrCreate(dataDirectory);
        if (portalText is not null && portalText != settings.Portal)
        {
            settings.Portal = portalText;
            settings.Save(dataDirectory);
        }
        settings.Validate();
        int nodeCount = ResolveNodeCount(settings, nodesOption, catalog);
        if (settings.Nodes != nodeCount)
        {
            settings.Nodes = nodeCount;
            settings.Save(dataDirectory);
        }
        NodeSettings.TryParsePortal(settings.Portal, out string host, out int port, out _);
        if (!IPAddress.TryParse(host, out IPAddress? address))
        {
            // Names resolve once at start; the guide keeps traffic on loopback unless told otherwise.
            address = (await Dns.GetHostAddressesAsync(host, cancellation).ConfigureAwait(false)).FirstOrDefault()
                ?? throw new UsageException($"--portal: cannot resolve '{host}'");
        }
        if (catalog.List().Count == 0)
        {
            var created = catalog.Create(DefaultVolumeName, defaultSize);
            Console.WriteLine($"created default volume {created.Name} ({SizeParser.Format(created.SizeBytes)}) in {catalog.DataDirectory}");
        }

        var endPoint = new IPEndPoint(address, port);
        IServingNode node = nodeCount > 1
            ? await LocalCluster.OpenAsync(catalog, settings, endPoint, nodeCount, loggerFactory, cancellation).ConfigureAwait(false)
            : new LocalNode(catalog, settings, endPoint, loggerFactory);
        try
        {
            node.Start();
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await node.DisposeAsync().ConfigureAwait(false);
            string where = nodeCount > 1 ? $"{endPoint.Address} ports {endPoint.Port}..{endPoint.Port + nodeCount - 1}" : endPoint.ToString();
            Console.Error.WriteLine($"tessera: cannot listen on {where}: {ex.Message}");
            return TesseraCli.ExitFailure;
        }

        if (nodeCount > 1) Console.WriteLine($"{nodeCount} nodes in this process; every LU is striped with double parity over them " +
            $"({string.Join(", ", node.Volumes.Select(v => $"{v.Name} {v.DataColumns}+2").Distinct())}) and served by every portal");
        PrintConnectHints(node.TargetName, node.Volumes, node.PortalEndPoints);
        await serving.Stopped.ConfigureAwait(false);
        Console.WriteLine("stopping: logging initiators out and flushing volumes");
        await node.DisposeAsync().ConfigureAwait(false);
        Console.WriteLine("stopped");
        return TesseraCli.ExitOk;
    }

    /// <summary>
    /// The node count is part of the data directory's layout (node-local files vs N chunk stores), so a
    /// directory keeps the count it was first started with; asking for another one is refused rather
    /// than silently presenting different (empty) volumes. A directory from before the count was
    /// recorded, with volume files and no cluster, is a single node.
    /// </summary>
    private static int ResolveNodeCount(NodeSettings settings, int? requested, VolumeCatalog catalog)
    {
        if (settings.Nodes is { } recorded)
        {
            if (requested is { } n && n != recorded)
            {
                throw new UsageException($"--nodes {n}: {catalog.DataDirectory} holds a {recorded}-node layout; start it with --nodes {recorded} or use another --data");
            }

            return recorded;
        }

        if (requested is { } explicitCount) return explicitCount;
        bool legacySingleNode = catalog.List().Count > 0 && !Directory.Exists(Path.Combine(catalog.DataDirectory, "cluster"));
        return legacySingleNode ? 1 : DefaultNodes;
    }

    private static void PrintConnectHints(string targetName, IReadOnlyList<VolumeInfo> volumes, IReadOnlyList<IPEndPoint> portals)
    {
        string first = ServingHost.HostPort(portals[0]);
        Console.WriteLine($"Tessera node up: target {targetName} on {string.Join(", ", portals.Select(ServingHost.HostPort))}");
        foreach (var portal in portals)
            foreach (var v in volumes)
                Console.WriteLine($"  iscsi://{ServingHost.HostPort(portal)}/{targetName}/{v.Lun}   ({v.Name}, {SizeParser.Format(v.SizeBytes)}{(v.ReadOnly ? ", read-only" : "")})");
        Console.WriteLine($"open-iscsi: iscsiadm -m discovery -t sendtargets -p {first} && iscsiadm -m node -T {targetName} -p {first} --login");
        Console.WriteLine($"QEMU:       qemu-system-x86_64 -drive file=iscsi://{first}/{targetName}/0,format=raw,if=virtio,cache=none");
        Console.Out.Flush();
    }
}
