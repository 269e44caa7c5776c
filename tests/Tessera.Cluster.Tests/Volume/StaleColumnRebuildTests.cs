using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// The stale-column rebuild across nodes (docs/cluster-node.md, "Stale columns"): NodeVolumeHosts
/// over TCP, each with its own <see cref="StaleColumnLiveness"/> on one metadata store.
/// </summary>
public sealed class StaleColumnRebuildTests
{
    /// <summary>
    /// Node down → degraded writes → stale record → node back → rebuild (while a writer keeps going,
    /// and with some sub-units owned by the stale node itself) → record gone. Then every stripe scrubs
    /// consistent, every portal reads what was written, and so it does with two other nodes out — so
    /// the rebuilt node's columns really are current.
    /// </summary>
    [Theory]
    [InlineData(2, 0, 4)]
    [InlineData(5, 1, 3)]
    public async Task RebuildClearsTheRecordAndTheNodesColumnsAreCurrent(int lost, int laterDownA, int laterDownB)
    {
        await using var cluster = StaleRebuildCluster.Create();
        VolumeLayout layout = cluster.Layout;
        byte[] reference = new byte[layout.SizeBytes];
        await cluster.WriteAsync(reference, seed: 10 + lost, operations: 150, _ => true);
        Assert.Null(await cluster.StaleRecordAsync(lost));

        cluster.MarkDown(lost);
        await cluster.WriteAsync(reference, seed: 20 + lost, operations: 150, n => n != lost);
        Assert.NotNull(await cluster.StaleRecordAsync(lost));

        await cluster.BringBackAsync(lost);
        Assert.All(cluster.Columns, columns => Assert.True(columns.IsStale(new NodeId(lost))));
        for (long u = 0; u < layout.SubUnitCount; u += 3)
        {
            cluster.Ownership.Reassign(u, new NodeId(lost));   // the stale node rebuilds its own column as owner too
        }

        // A writer goes on through every portal during the rebuild (sequential, so the reference is exact).
        using var stop = new CancellationTokenSource();
        int maxBlocks = (int)(2 * layout.StripeDataSize / layout.BlockSize);
        Task writer = Task.Run(async () =>
        {
            var random = new Random(lost);
            for (int i = 0; !stop.IsCancellationRequested || i < 40; i++)
            {
                int count = 1 + random.Next(maxBlocks);
                long lba = random.NextInt64(layout.BlockCount - count + 1);
                byte[] data = new byte[count * layout.BlockSize];
                random.NextBytes(data);
                await cluster.View(random.Next(layout.NodeCount)).WriteAsync(lba, data, WriteFlags.None);
                data.CopyTo(reference.AsSpan((int)(lba * layout.BlockSize)));
            }
        });

        var coordinator = new StaleColumnRebuild(cluster.Store, cluster.Hosts[lost].Rebuilds);
        StaleRebuildOutcome outcome = await coordinator.RunAsync(cluster.Placement[lost], new NodeId(lost), cluster.Nodes, [],
            _ => Task.FromResult<IReadOnlyList<Guid>>([layout.VolumeId]), cluster.Hosts[lost].Volume);
        stop.Cancel();
        await writer;

        Assert.Equal(StaleRebuildOutcome.Cleared, outcome);
        Assert.Equal(layout.SubUnitCount, coordinator.SubUnitsRebuilt);
        Assert.Equal(layout.StripeCount, coordinator.StripesRebuilt);
        Assert.Null(await cluster.StaleRecordAsync(lost));
        await cluster.RefreshAllAsync();
        Assert.All(cluster.Columns, columns => Assert.False(columns.IsStale(new NodeId(lost))));

        (List<long> bad, long skipped) = await cluster.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
        for (int portal = 0; portal < layout.NodeCount; portal++)
        {
            await ReferenceWorkload.VerifyAllAsync(cluster.View(portal), reference, $"after the rebuild of node {lost}, via node {portal}");
        }

        cluster.MarkDown(laterDownA);
        cluster.MarkDown(laterDownB);
        foreach (int portal in Enumerable.Range(0, layout.NodeCount).Where(n => n != laterDownA && n != laterDownB))
        {
            await ReferenceWorkload.VerifyAllAsync(cluster.View(portal), reference, $"nodes {laterDownA} and {laterDownB} out, via node {portal}");
        }
    }

    /// <summary>
    /// Once owners have rebuilt the node's columns they keep writing them (writes leave the record
    /// alone and stripes scrub clean with the node's columns counted); when the node then drops out
    /// again, the first write that skips it puts the record again, so a coordinator's conditional
    /// delete from before cannot succeed.
    /// </summary>
    [Fact]
    public async Task AWriteThatSkipsARebuiltNodePutsTheRecordAgain()
    {
        const int Lost = 3;
        await using var cluster = StaleRebuildCluster.Create();
        VolumeLayout layout = cluster.Layout;
        var stale = new NodeId(Lost);
        byte[] reference = new byte[layout.SizeBytes];
        await cluster.WriteAsync(reference, seed: 1, operations: 100, _ => true);
        cluster.MarkDown(Lost);
        await cluster.WriteAsync(reference, seed: 2, operations: 100, n => n != Lost);
        await cluster.BringBackAsync(Lost);

        // Everything a coordinator does short of deleting the record.
        ColumnRebuildChannel channel = cluster.Hosts[0].Rebuilds;
        foreach (NodeId node in cluster.Nodes)
        {
            await channel.BeginAsync(node, stale, CancellationToken.None);
        }

        for (long u = 0; u < layout.SubUnitCount; u++)
        {
            long stripes = await channel.RebuildSubUnitAsync(cluster.Ownership.Owner(u), layout.VolumeId, u, cluster.Ownership.Epoch(u), stale, CancellationToken.None);
            Assert.Equal(Math.Min(layout.StripesPerSubUnit, layout.StripeCount - (u * layout.StripesPerSubUnit)), stripes);
        }

        long revision = (await cluster.StaleRecordAsync(Lost))!.ModRevision;
        await cluster.WriteAsync(reference, seed: 3, operations: 100, _ => true);
        Assert.Equal(revision, (await cluster.StaleRecordAsync(Lost))!.ModRevision);
        (List<long> bad, long skipped) = await cluster.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);   // the owners count the rebuilt columns: none is out

        cluster.MarkDown(Lost);
        await cluster.WriteAsync(reference, seed: 4, operations: 50, n => n != Lost);
        Assert.True((await cluster.StaleRecordAsync(Lost))!.ModRevision > revision);
        await ReferenceWorkload.VerifyAllAsync(cluster.View(1), reference, "after the node dropped out again");
    }

    /// <summary>
    /// A membership change during the rebuild: a guard key re-created (a node restarted) leaves the
    /// record in place (Changed); owners that dropped their sessions refuse to go on (the run fails).
    /// The next run, undisturbed, clears the record.
    /// </summary>
    [Fact]
    public async Task AMembershipChangeDuringTheRebuildLeavesTheRecord()
    {
        const int Lost = 1;
        const string Guard = "/tessera/nodes/4";
        await using var cluster = StaleRebuildCluster.Create();
        byte[] reference = new byte[cluster.Layout.SizeBytes];
        cluster.MarkDown(Lost);
        await cluster.WriteAsync(reference, seed: 5, operations: 80, n => n != Lost);
        await cluster.BringBackAsync(Lost);
        await cluster.Store.PutAsync(Guard, "node"u8.ToArray());

        StaleRebuildOutcome outcome = await cluster.RebuildAsync(Lost, [Guard], async () =>
        {
            await cluster.Store.DeleteAsync(Guard);
            await cluster.Store.PutAsync(Guard, "node"u8.ToArray());
        });
        Assert.Equal(StaleRebuildOutcome.Changed, outcome);
        Assert.NotNull(await cluster.StaleRecordAsync(Lost));

        await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.RebuildAsync(Lost, [Guard], () =>
        {
            foreach (NodeVolumeHost host in cluster.Hosts)
            {
                host.RebuildState.DropAll();
            }

            return Task.CompletedTask;
        }));
        Assert.NotNull(await cluster.StaleRecordAsync(Lost));

        Assert.Equal(StaleRebuildOutcome.Cleared, await cluster.RebuildAsync(Lost, [Guard]));
        Assert.Null(await cluster.StaleRecordAsync(Lost));
        Assert.Equal(StaleRebuildOutcome.NotStale, await cluster.RebuildAsync(Lost, [Guard]));
        await cluster.RefreshAllAsync();
        cluster.MarkDown(4);
        cluster.MarkDown(5);
        await ReferenceWorkload.VerifyAllAsync(cluster.View(0), reference, "nodes 4 and 5 out after the rebuild of node 1");
    }
}
