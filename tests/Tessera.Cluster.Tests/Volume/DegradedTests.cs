using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

public sealed class DegradedTests
{
    public static TheoryData<int, int> DownSets()
    {
        var data = new TheoryData<int, int>();
        for (int a = 0; a < 6; a++)
        {
            data.Add(a, -1);
            for (int b = a + 1; b < 6; b++)
            {
                data.Add(a, b);
            }
        }

        return data;
    }

    /// <summary>
    /// N = 6, K = 4: every single node and every pair of nodes taken out after a workload; every
    /// read through every surviving node still returns the reference, then a degraded workload
    /// (writes rebuild, re-encode and skip the missing columns) keeps matching it.
    /// </summary>
    [Theory]
    [MemberData(nameof(DownSets))]
    public async Task AnyOneOrTwoNodesDownReadsStillReturnTheReference(int first, int second)
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 512 << 10);
        byte[] reference = new byte[fixture.Layout.SizeBytes];
        int maxBlocks = (int)(2 * fixture.Layout.StripeDataSize / fixture.Layout.BlockSize);
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 100 + (first * 7) + second, operations: 300, maxBlocks);
        (List<long> bad, _) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);

        fixture.Cluster.MarkDown(new NodeId(first));
        if (second >= 0)
        {
            fixture.Cluster.MarkDown(new NodeId(second));
        }

        bool Up(int node) => node != first && node != second;
        for (int node = 0; node < 6; node++)
        {
            if (Up(node))
            {
                await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"down {first},{second}: read via {node}", blocksPerRead: 7);
            }
        }

        await ReferenceWorkload.RunAsync(fixture, reference, seed: 200 + first + (second * 11), operations: 200, maxBlocks, Up);
        for (int node = 0; node < 6; node++)
        {
            if (Up(node))
            {
                await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"down {first},{second} after degraded writes: read via {node}");
            }
        }

        // Sub-units of the nodes that left moved to live owners under new epochs.
        for (long u = 0; u < fixture.Layout.SubUnitCount; u++)
        {
            Assert.True(Up(fixture.Volume.Ownership.Owner(u).Value));
        }
    }

    [Fact]
    public async Task ThreeNodesDownFailsReadsOfStripesMissingThreeColumns()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 256 << 10);
        byte[] data = new byte[fixture.Layout.StripeDataSize];
        new Random(3).NextBytes(data);
        await fixture.View(0).WriteAsync(0, data, WriteFlags.None);

        // Stripe 0 lives on nodes 0..5; nodes 0, 1, 2 hold data columns 0, 1, 2.
        fixture.Cluster.MarkDown(new NodeId(0));
        fixture.Cluster.MarkDown(new NodeId(1));
        fixture.Cluster.MarkDown(new NodeId(2));
        await Assert.ThrowsAsync<IOException>(async () => await fixture.View(4).ReadAsync(0, new byte[512]));
    }

    [Fact]
    public async Task StripeWithAMissingColumnScrubsAsUnchecked()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 256 << 10);
        fixture.Cluster.MarkDown(new NodeId(5));
        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(fixture.Layout.StripeCount, skipped);
    }
}
