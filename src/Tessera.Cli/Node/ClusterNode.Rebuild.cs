using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;

namespace Tessera.Cli.Node;

/// <summary>
/// The stale-column rebuild of this node (docs/cluster-node.md, "Stale columns"): while this node's
/// stale record exists, every placement node is live and ownership runs, it coordinates a
/// <see cref="StaleColumnRebuild"/> of its own columns — every sub-unit's owner rebuilds them — and
/// the record is deleted when nothing changed meanwhile; otherwise it tries again.
/// </summary>
internal sealed partial class ClusterNode
{
    private static readonly TimeSpan RebuildPoll = TimeSpan.FromSeconds(2);

    private Task _rebuildLoop = Task.CompletedTask;

    private async Task RebuildStaleColumnsAsync(CancellationToken cancellationToken)
    {
        var self = new NodeId(_options.Id - 1);
        string[] placement = [.. Enumerable.Range(1, _options.Nodes).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        NodeId[] nodes = [.. Enumerable.Range(0, _options.Nodes).Select(i => new NodeId(i))];
        string[] guards = [.. placement.Select(MetadataKeys.Node)];
        var coordinator = new StaleColumnRebuild(_store, _host!.Rebuilds);
        int failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RebuildPoll * Math.Min(1 << Math.Min(failures, 4), 15), cancellationToken).ConfigureAwait(false);
                if (_agent is null || !_columns!.IsStale(self) || !nodes.All(_liveness!.IsUp))
                {
                    continue;
                }

                try
                {
                    _log.LogInformation("node {Node} rebuilds its stale columns", Self);
                    long started = Stopwatch.GetTimestamp();
                    StaleRebuildOutcome outcome = await coordinator.RunAsync(Self, self, nodes, guards,
                        ct => ListPlacedVolumesAsync(placement, ct), _host.Volume, cancellationToken).ConfigureAwait(false);
                    if (outcome == StaleRebuildOutcome.Changed)
                    {
                        failures++;
                        _log.LogWarning("node {Node}: rebuilt {Stripes} stripes, but a write skipped it again or membership changed meanwhile; trying again",
                            Self, coordinator.StripesRebuilt);
                        continue;
                    }

                    failures = 0;
                    await _columns.RefreshAsync(cancellationToken).ConfigureAwait(false);
                    _log.LogInformation("node {Node}: {Stripes} stripes of {SubUnits} sub-units rebuilt in {Seconds:F1} s; its columns are current again",
                        Self, coordinator.StripesRebuilt, coordinator.SubUnitsRebuilt, Stopwatch.GetElapsedTime(started).TotalSeconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    _log.LogWarning("node {Node}: rebuild of its stale columns failed, trying again: {Message}", Self, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The volumes this cluster serves (placed on nodes 1..N), read from the store.</summary>
    private async Task<IReadOnlyList<Guid>> ListPlacedVolumesAsync(string[] placement, CancellationToken cancellationToken)
    {
        var (records, _) = await new VolumeDirectory(_store).ListAsync(cancellationToken).ConfigureAwait(false);
        return [.. records.Where(r => r.Placement.SequenceEqual(placement)).Select(r => r.Id)];
    }
}
