using System.CommandLine;
using System.Text;
using System.Text.Json;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Cluster.Metadata.Status;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera status [--etcd URL | --data DIR] [--json]`: nodes, volumes and which node owns which
/// sub-units, from the cluster's metadata store. With --data it reads the embedded store under
/// DIR/metadata without a lock and without writing (a running `tessera up` keeps holding it) and
/// says whether a process holds it: without one, node registrations are those of the last run.
/// </summary>
internal static class StatusCommand
{
    private static readonly TimeSpan EtcdTimeout = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var etcd = CommonOptions.Etcd("Client URL of the cluster's etcd (clusters of `tessera node` processes).");
        var data = CommonOptions.Data();
        var json = new Option<bool>("--json") { Description = "Print the status as JSON." };
        var command = new Command("status", "Show the cluster: nodes, volumes, and which node owns which sub-units.") { etcd, data, json };
        command.SetAction((parse, cancellation) =>
        {
            string? url = parse.GetValue(etcd);
            if (url is not null && parse.GetResult(data) is { Implicit: false })
                throw new UsageException("--etcd and --data name two different stores; give one");
            return RunAsync(url, parse.GetValue(data)!, parse.GetValue(json), cancellation);
        });
        return command;
    }

    private static async Task<int> RunAsync(string? etcdUrl, string dataDirectory, bool json, CancellationToken cancellation)
    {
        ClusterStatusReport report;
        try
        {
            report = etcdUrl is not null
                ? await ReadEtcdAsync(etcdUrl, cancellation).ConfigureAwait(false)
                : await ReadEmbeddedAsync(dataDirectory, cancellation).ConfigureAwait(false);
        }
        catch (MetadataStoreException ex)
        {
            Console.Error.WriteLine($"tessera: {ex.Message}");
            return TesseraCli.ExitFailure;
        }

        Console.Write(json ? JsonSerializer.Serialize(report, StatusJsonContext.Default.ClusterStatusReport) + Environment.NewLine : Render(report));
        return TesseraCli.ExitOk;
    }

    private static async Task<ClusterStatusReport> ReadEtcdAsync(string url, CancellationToken cancellation)
    {
        await using var store = CommonOptions.ConnectEtcd(url, EtcdTimeout);
        return await ClusterStatus.ReadAsync(store, $"etcd {url}", nodesCurrent: true, cancellation).ConfigureAwait(false);
    }

    private static async Task<ClusterStatusReport> ReadEmbeddedAsync(string dataDirectory, CancellationToken cancellation)
    {
        string directory = Path.Combine(Path.GetFullPath(dataDirectory), MetadataStoreFactory.EmbeddedDirectoryName);
        if (!Directory.Exists(directory))
            throw new MetadataStoreException($"no metadata store in {directory} (a cluster started with `tessera up --nodes N` keeps it there)");
        int? holder = StoreHolder.Find(directory);
        await using var store = EmbeddedMetadataStore.OpenReadOnly(directory);
        string source = holder is { } pid
            ? $"embedded {directory}, held by pid {pid}"
            : $"embedded {directory}, held by no running process (node registrations are from its last run)";
        return await ClusterStatus.ReadAsync(store, source, nodesCurrent: holder is not null, cancellation).ConfigureAwait(false);
    }

    /// <summary>The text form: a line about the store, a node table, a volume table with an owner summary per volume.</summary>
    internal static string Render(ClusterStatusReport report)
    {
        var text = new StringBuilder();
        text.AppendLine($"store: {report.Source}, revision {report.Revision}");
        text.AppendLine();
        if (report.Nodes.Count == 0)
        {
            text.AppendLine("no nodes");
        }
        else
        {
            text.AppendLine($"{"NODE",-12} {"STATE",-6} {"PORTAL",-22} {"PEER",-22} INCARNATION");
            foreach (var n in report.Nodes)
            {
                // A registration that is not current (no process holds the embedded store) is "stale".
                string state = n.Live ? "live" : n.Portal is null ? "out" : "stale";
                text.AppendLine($"{n.Id,-12} {state,-6} {n.Portal ?? "-",-22} {n.Peer ?? "-",-22} {(n.Incarnation == 0 ? "-" : n.Incarnation.ToString())}");
            }
        }

        text.AppendLine();
        if (report.Volumes.Count == 0)
        {
            text.AppendLine("no volumes");
        }
        else
        {
            text.AppendLine($"{"LUN",-4} {"NAME",-24} {"SIZE",10} {"BLOCK",9} {"LAYOUT",-14} {"SUB-UNITS",9} PLACEMENT");
            foreach (var v in report.Volumes)
            {
                string block = v.PhysicalBlockSize != v.BlockSize ? $"{v.BlockSize}/{v.PhysicalBlockSize}" : v.BlockSize.ToString();
                string layout = $"{v.DataColumns}+2 x {SizeParser.Format(v.ChunkSize)}";
                text.AppendLine($"{v.Lun,-4} {v.Name,-24} {SizeParser.Format(v.SizeBytes),10} {block,9} {layout,-14} {v.SubUnits,9} {string.Join(",", v.Placement)}{(v.ReadOnly ? "  (read-only)" : "")}");
                string owners = v.Owners.Count == 0 ? "none" : string.Join(", ", v.Owners.Select(o =>
                    $"{o.Node} x{o.SubUnits} @{(o.MinEpoch == o.MaxEpoch ? o.MinEpoch.ToString() : $"{o.MinEpoch}-{o.MaxEpoch}")}{(o.Live ? "" : " (not live)")}"));
                text.AppendLine($"     owners (node x sub-units @epochs): {owners}");
                if (v.WithoutLiveOwnerCount > 0)
                {
                    var states = new List<string>();
                    if (v.NeverOwned > 0) states.Add($"{v.NeverOwned} never owned");
                    if (v.Revoked > 0) states.Add($"{v.Revoked} revoked");
                    if (v.Released > 0) states.Add($"{v.Released} released");
                    string why = states.Count == 0 ? "" : $"; {string.Join(", ", states)}";
                    text.AppendLine($"     without a live owner: {v.WithoutLiveOwnerCount} sub-unit{(v.WithoutLiveOwnerCount == 1 ? "" : "s")} ({v.WithoutLiveOwner}{why})");
                }
            }
        }

        if (report.Problems.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("problems:");
            foreach (string p in report.Problems) text.AppendLine("  " + p);
        }

        return text.ToString();
    }
}
