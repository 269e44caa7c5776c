using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

public sealed class RebuildTests
{
    /// <summary>
    /// A node leaves, writes go on degraded, then the node is rebuilt while a writer keeps going.
    /// Afterwards every stripe scrubs clean with all nodes up, and with two *other* nodes taken out
    /// (so the rebuilt node's columns are needed) every read still returns the reference.
    /// </summary>
    [Theory]
    [InlineData(2, false, 0, 4, Wire.Direct)]
    [InlineData(2, false, 0, 4, Wire.Tcp)]
    [InlineData(5, true, 1, 3, Wire.Direct)]
    [InlineData(5, true, 1, 3, Wire.Tcp)]
    public async Task RebuiltNodeCarriesCurrentDataWhileWritesContinue(int lost, bool wipe, int laterDownA, int laterDownB, Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 1 << 20);
        VolumeLayout layout = fixture.Layout;
        byte[] reference = new byte[layout.SizeBytes];
        int maxBlocks = (int)(2 * layout.StripeDataSize / layout.BlockSize);
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 31 + lost, operations: 300, maxBlocks);

        fixture.Cluster.MarkDown(new NodeId(lost));
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 41 + lost, operations: 200, maxBlocks, n => n != lost);
        if (wipe)
        {
            // A replacement disk: the node's chunks are gone, not just stale.
            await fixture.Cluster.Stores[lost].UnmapStripesAsync(layout.VolumeId, 0, layout.StripeCount);
        }

        // One writer runs through the rebuild (its own reference updates are sequential, so deterministic).
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(async () =>
        {
            var random = new Random(lost);
            int i = 0;
            while (!stop.IsCancellationRequested || i < 50)
            {
                int count = 1 + random.Next(maxBlocks);
                long lba = random.NextInt64(layout.BlockCount - count + 1);
                byte[] data = new byte[count * layout.BlockSize];
                random.NextBytes(data);
                int portal = (lost + 1 + random.Next(5)) % 6;
                await fixture.View(portal).WriteAsync(lba, data, WriteFlags.None);
                data.CopyTo(reference.AsSpan((int)(lba * layout.BlockSize)));
                i++;
            }
        });

        await fixture.Cluster.RebuildAsync(new NodeId(lost));
        stop.Cancel();
        await writer;
        Assert.True(fixture.Cluster.IsUp(new NodeId(lost)));

        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
        await ReferenceWorkload.VerifyAllAsync(fixture.View(lost), reference, "via the rebuilt node");

        // The rebuilt node's portal takes part in multi-owner writes again.
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 51 + lost, operations: 100, maxBlocks, n => n == lost);

        fixture.Cluster.MarkDown(new NodeId(laterDownA));
        fixture.Cluster.MarkDown(new NodeId(laterDownB));
        foreach (int node in Enumerable.Range(0, 6).Where(n => n != laterDownA && n != laterDownB))
        {
            await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"{laterDownA},{laterDownB} down after rebuilding {lost}: read via {node}");
        }
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task RebuildingANodeThatIsUpIsRefused(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 256 << 10);
        await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.Cluster.RebuildAsync(new NodeId(1)));
    }
}
