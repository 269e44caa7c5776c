using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Volume;

public sealed class PlacementTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach ((int k, int n) in new[] { (4, 6), (4, 7), (4, 9), (2, 4), (3, 8), (6, 8), (8, 12), (4, 13) })
        {
            data.Add(k, n);
        }

        return data;
    }

    /// <summary>Every stripe on K + 2 distinct nodes; ColumnOf inverts NodeOf.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryStripeSitsOnKPlusTwoDistinctNodes(int k, int n)
    {
        VolumeLayout layout = Layout(k, n, stripes: 1000);
        for (long s = 0; s < layout.StripeCount; s++)
        {
            var nodes = new HashSet<int>();
            for (int column = 0; column < layout.ColumnCount; column++)
            {
                NodeId node = layout.NodeOf(s, column);
                Assert.InRange(node.Value, 0, n - 1);
                Assert.True(nodes.Add(node.Value), $"stripe {s}: node {node} holds two columns");
                Assert.Equal(column, layout.ColumnOf(s, node));
            }

            for (int node = 0; node < n; node++)
            {
                if (!nodes.Contains(node))
                {
                    Assert.Equal(-1, layout.ColumnOf(s, new NodeId(node)));
                }
            }
        }
    }

    /// <summary>
    /// Over any number of stripes, each node holds the row parity, the diagonal parity and data
    /// equally often (±1) — also over every prefix, so small volumes spread too.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void ParityAndDataSpreadEvenlyOverNodes(int k, int n)
    {
        VolumeLayout layout = Layout(k, n, stripes: 600);
        int[] row = new int[n], diagonal = new int[n], data = new int[n];
        for (long s = 0; s < layout.StripeCount; s++)
        {
            row[layout.NodeOf(s, layout.RowParityColumn).Value]++;
            diagonal[layout.NodeOf(s, layout.DiagonalParityColumn).Value]++;
            for (int column = 0; column < k; column++)
            {
                data[layout.NodeOf(s, column).Value]++;
            }

            Assert.True(row.Max() - row.Min() <= 1, $"row parity after {s + 1} stripes: {string.Join(",", row)}");
            Assert.True(diagonal.Max() - diagonal.Min() <= 1, $"diagonal parity after {s + 1} stripes: {string.Join(",", diagonal)}");
            Assert.True(data.Max() - data.Min() <= k, $"data after {s + 1} stripes: {string.Join(",", data)}");
        }

        Assert.True(data.Max() - data.Min() <= 1 || layout.StripeCount % n != 0);
    }

    /// <summary>Default ownership: sub-unit u on node u mod N, so owners spread evenly whatever the stripes per sub-unit.</summary>
    [Theory]
    [InlineData(6, 64)]
    [InlineData(6, 4)]
    [InlineData(7, 64)]
    public void SubUnitOwnersSpreadEvenly(int n, int stripesPerSubUnit)
    {
        var layout = new VolumeLayout(Guid.NewGuid(), 1L << 30, 512, n, 4, 64 * 1024, stripesPerSubUnit);
        var ownership = new InMemoryOwnershipView(layout);
        int[] owned = new int[n];
        for (long u = 0; u < layout.SubUnitCount; u++)
        {
            owned[ownership.Owner(u).Value]++;
            Assert.Equal(1, ownership.Epoch(u));
        }

        Assert.True(owned.Max() - owned.Min() <= 1, string.Join(",", owned));
    }

    [Fact]
    public void ReassignBumpsTheEpoch()
    {
        var layout = new VolumeLayout(Guid.NewGuid(), 64L << 20, 512, 6);
        var ownership = new InMemoryOwnershipView(layout);
        ownership.Reassign(3, new NodeId(5));
        Assert.Equal(new NodeId(5), ownership.Owner(3));
        Assert.Equal(2, ownership.Epoch(3));
        Assert.Equal(1, ownership.Epoch(2));
    }

    [Fact]
    public void DefaultGeometryIsFourPlusTwoWith64KiBChunks()
    {
        var layout = new VolumeLayout(Guid.NewGuid(), 1L << 30, 512, 6);
        Assert.Equal(4, layout.DataColumns);
        Assert.Equal(64 * 1024, layout.ChunkSize);
        Assert.Equal(256 * 1024, layout.StripeDataSize);
        Assert.Equal(4096, layout.StripeCount);
        Assert.Equal(64, layout.SubUnitCount);
        Assert.Equal(5, layout.Parity.Prime);
        Assert.Equal(16 * 1024, layout.Parity.BlockSize);
        Assert.Equal(layout.StripeCount * layout.ChunkSize, layout.ChunkFileSize);
    }

    [Fact]
    public void BadGeometriesAreRefusedWithAReason()
    {
        Guid id = Guid.NewGuid();
        Assert.Throws<ArgumentOutOfRangeException>("nodeCount", () => new VolumeLayout(id, 1 << 20, 512, 5, dataColumns: 4));
        Assert.Throws<ArgumentOutOfRangeException>("blockSize", () => new VolumeLayout(id, 1 << 20, 1024, 6));
        Assert.Throws<ArgumentOutOfRangeException>("sizeBytes", () => new VolumeLayout(id, 1000, 512, 6));

        // 8 data columns, 4 KiB chunks: p = 11 would give 409.6-byte blocks; p = 17 gives 256-byte blocks, below a 512-byte LBA.
        var ex = Assert.Throws<ArgumentOutOfRangeException>("chunkSize", () => new VolumeLayout(id, 1 << 20, 512, 10, dataColumns: 8, chunkSize: 4096));
        Assert.Contains("multiple of", ex.Message);
    }

    private static VolumeLayout Layout(int k, int n, long stripes)
    {
        int chunk = Tessera.Parity.ParityGeometry.ForColumnSize(k, 64 * 1024).ColumnSize;
        return new VolumeLayout(Guid.NewGuid(), stripes * k * chunk, 512, n, k, chunk, 16);
    }
}
