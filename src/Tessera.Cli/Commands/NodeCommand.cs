using System.CommandLine;
using System.Globalization;
using System.Net;
using Tessera.Cli.Node;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

/// <summary>`tessera node --etcd URL --id N`: one node of an etcd-backed cluster, until Ctrl-C or SIGTERM.</summary>
internal static class NodeCommand
{
    public const int MaxNodes = 64;

    public static Command Create()
    {
        var etcd = CommonOptions.Etcd("Client URL of the cluster's etcd, e.g. http://127.0.0.1:2379.", required: true);
        var id = new Option<int>("--id") { Description = "This node's number, 1..N: its column in every volume's placement and its target port group.", HelpName = "N", Required = true };
        var nodes = new Option<int>("--nodes")
        {
            Description = $"Nodes in the cluster (N); volumes are placed on nodes 1..N. Default {UpCommand.DefaultNodes}.",
            DefaultValueFactory = _ => UpCommand.DefaultNodes,
            HelpName = "N",
        };
        nodes.Validators.Add(r =>
        {
            int n = r.GetValueOrDefault<int>();
            if (n is < 4 or > MaxNodes) r.AddError($"--nodes must be 4..{MaxNodes} (2 data + 2 parity columns need 4 nodes), not {n}");
        });
        var portal = EndPointOption("--portal", "iSCSI portal to listen on (HOST:PORT). Default 127.0.0.1:(3259+N).");
        var peer = EndPointOption("--peer", "Inter-node endpoint to listen on (HOST:PORT), advertised to the other nodes. Default 127.0.0.1:(7000+N).");
        var data = CommonOptions.Data();
        data.Description = "This node's data directory (chunk store and settings); one per node.";
        var quiet = new Option<bool>("--quiet") { Description = "Log warnings and errors only." };
        var command = new Command("node", "Run one node of a cluster whose metadata store is etcd (one node per process or machine).")
        {
            etcd, id, nodes, portal, peer, data, quiet,
        };
        command.SetAction((parse, cancellation) =>
        {
            int n = parse.GetValue(id);
            if (n < 1 || n > parse.GetValue(nodes)) throw new UsageException($"--id must be 1..{parse.GetValue(nodes)} (--nodes), not {n}");
            string dataDirectory = parse.GetValue(data)!;
            Directory.CreateDirectory(dataDirectory);
            var settings = NodeSettings.LoadOrCreate(dataDirectory);
            settings.Validate();
            var options = new ClusterNodeOptions(parse.GetValue(etcd)!, n, parse.GetValue(nodes),
                ParseEndPoint(parse.GetValue(portal)) ?? new IPEndPoint(IPAddress.Loopback, 3259 + n),
                ParseEndPoint(parse.GetValue(peer)) ?? new IPEndPoint(IPAddress.Loopback, 7000 + n),
                dataDirectory, settings);
            return RunAsync(options, parse.GetValue(quiet), cancellation);
        });
        return command;
    }

    private static Option<string> EndPointOption(string name, string description)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "HOST:PORT" };
        option.Validators.Add(r =>
        {
            string? text = r.GetValueOrDefault<string>();
            if (text is not null && (!IPEndPoint.TryParse(text, out IPEndPoint? ep) || ep.Port == 0))
                r.AddError($"{name}: '{text}' is not an IP address and port (names are not resolved here)");
        });
        return option;
    }

    private static IPEndPoint? ParseEndPoint(string? text) => text is null ? null : IPEndPoint.Parse(text);

    private static async Task<int> RunAsync(ClusterNodeOptions options, bool quiet, CancellationToken cancellation)
    {
        using var host = new ServingHost(quiet, cancellation);
        string portal = ServingHost.HostPort(options.Portal), peer = ServingHost.HostPort(options.Peer);
        while (true)
        {
            ClusterNode node;
            try
            {
                node = await ClusterNode.StartAsync(options, host.Loggers, record =>
                    Console.WriteLine($"  iscsi://{portal}/{options.Settings.TargetIqn}/{record.Lun.ToString(CultureInfo.InvariantCulture)}   ({record.Name}, {SizeParser.Format(record.SizeBytes)}{(record.ReadOnly ? ", read-only" : "")})"),
                    cancellation).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                Console.Error.WriteLine($"tessera: node {options.Id} cannot listen on {portal} or {peer}: {ex.Message}");
                return TesseraCli.ExitFailure;
            }

            Console.WriteLine($"node {options.Id} up: portal {portal}, peer {peer}");
            Task ended = await Task.WhenAny(host.Stopped, node.Lost).ConfigureAwait(false);
            if (ended == host.Stopped)
            {
                Console.WriteLine($"node {options.Id} stopping: logging initiators out, leaving the cluster, flushing chunks");
                await node.DisposeAsync().ConfigureAwait(false);
                Console.WriteLine("stopped");
                return TesseraCli.ExitOk;
            }

            // Out of the cluster (e.g. fenced after missing a context acknowledgement under load): this
            // incarnation may serve nothing more. Leave, then join again as a new incarnation — sessions
            // reconnect, and the node's stale columns (if it missed writes) are rebuilt.
            Console.WriteLine($"node {options.Id} lost its membership ({node.Lost.Result?.Message ?? "fenced"}): rejoining as a new incarnation");
            await node.DisposeAsync().ConfigureAwait(false);
            if (host.Stopped.IsCompleted) return TesseraCli.ExitOk;
        }
    }
}
