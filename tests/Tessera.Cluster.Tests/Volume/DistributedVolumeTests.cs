using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

public sealed class DistributedVolumeTests
{
    [Theory]
    [InlineData(1, 512, 4, 6, Wire.Direct)]
    [InlineData(1, 512, 4, 6, Wire.Tcp)]
    [InlineData(2, 512, 4, 6, Wire.Direct)]
    [InlineData(2, 512, 4, 6, Wire.Tcp)]
    [InlineData(3, 4096, 4, 6, Wire.Direct)]
    [InlineData(3, 4096, 4, 6, Wire.Tcp)]
    [InlineData(4, 512, 3, 6, Wire.Direct)]
    [InlineData(4, 512, 3, 6, Wire.Tcp)]
    [InlineData(5, 512, 4, 7, Wire.Direct)]
    [InlineData(5, 512, 4, 7, Wire.Tcp)]
    [InlineData(6, 512, 2, 9, Wire.Direct)]
    [InlineData(6, 512, 2, 9, Wire.Tcp)]
    public async Task RandomWorkloadThroughRandomNodesMatchesReferenceAndParityScrubsClean(int seed, int blockSize, int dataColumns, int nodes, Wire wire)
    {
        int chunk = blockSize == 4096 ? 16384 : ClusterFixture.SmallChunk;
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 2 << 20, nodes: nodes, blockSize: blockSize, dataColumns: dataColumns, chunkSize: chunk);
        byte[] reference = new byte[fixture.Layout.SizeBytes];
        int maxBlocks = (int)(3 * fixture.Layout.StripeDataSize / blockSize);
        await ReferenceWorkload.RunAsync(fixture, reference, seed, operations: 1500, maxBlocks);

        for (int node = 0; node < fixture.Layout.NodeCount; node++)
        {
            await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"full read via node {node}");
        }

        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
        Assert.True(Enumerable.Range(0, nodes).Sum(n => fixture.View(n).OrderedRequests) > 0, "some writes must have spanned owners");
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task UnwrittenVolumeReadsZerosAndIsUnmapped(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        byte[] buffer = new byte[64 * 1024];
        buffer.AsSpan().Fill(0xAA);
        await fixture.View(2).ReadAsync(100, buffer);
        Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        LbaStatusRun run = await fixture.View(1).GetLbaStatusAsync(0);
        Assert.False(run.Mapped);
        Assert.True(run.BlockCount > 1);
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task FullStripeWriteLandsOnEveryColumnAsEncoded(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        VolumeLayout layout = fixture.Layout;
        byte[] data = new byte[layout.StripeDataSize];
        new Random(5).NextBytes(data);
        long stripe = 9;
        await fixture.View(0).WriteAsync(stripe * layout.StripeDataSize / layout.BlockSize, data, WriteFlags.None);

        // Each data chunk holds its C bytes on node (s + j) mod N; parity columns check.
        for (int column = 0; column < layout.DataColumns; column++)
        {
            byte[] chunk = new byte[layout.ChunkSize];
            await fixture.Cluster.Chunks.ReadAsync(layout.NodeOf(stripe, column), new ChunkAddress(layout.VolumeId, stripe, column), 0, chunk);
            Assert.True(chunk.AsSpan().SequenceEqual(data.AsSpan(column * layout.ChunkSize, layout.ChunkSize)), $"column {column}");
        }

        Assert.True(await fixture.Volume.Owners[0].Engine.IsConsistentAsync(stripe, default));
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task ReadingAChunkOnTheWrongNodeIsRefused(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        VolumeLayout layout = fixture.Layout;
        var wrong = new Tessera.Cluster.Ordering.NodeId((layout.NodeOf(3, 0).Value + 1) % layout.NodeCount);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await fixture.Cluster.Chunks.ReadAsync(wrong, new ChunkAddress(layout.VolumeId, 3, 0), 0, new byte[512]));
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task OutOfRangeAndMisalignedRequestsAreRefused(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        DistributedVolume view = fixture.View(0);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await view.ReadAsync(view.BlockCount, new byte[512]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await view.WriteAsync(view.BlockCount - 1, new byte[1024], WriteFlags.None));
        await Assert.ThrowsAsync<ArgumentException>(async () => await view.WriteAsync(0, new byte[100], WriteFlags.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await view.UnmapAsync(view.BlockCount - 1, 2));
        await Assert.ThrowsAsync<ArgumentException>(async () => await view.CompareAndWriteAsync(0, new byte[512], new byte[1024], WriteFlags.None));
    }

    /// <summary>Chunk files outlive the process: a new cluster over the same directories and volume id reads the same bytes, parity intact.</summary>
    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task ReopeningTheClusterOverTheSameDirectoriesKeepsTheData(Wire wire)
    {
        string root = Path.Combine(Path.GetTempPath(), "tessera-dv-" + Guid.NewGuid().ToString("N"));
        Guid id = Guid.NewGuid();
        byte[] reference = new byte[1 << 20];
        try
        {
            await using (var cluster = new InProcessCluster(root, transport: ClusterFixture.Transport(wire)))
            {
                ClusterVolume volume = cluster.CreateVolume(reference.Length, chunkSize: ClusterFixture.SmallChunk, stripesPerSubUnit: 4, id: id);
                var random = new Random(9);
                for (int i = 0; i < 200; i++)
                {
                    int count = 1 + random.Next(64);
                    long lba = random.NextInt64((reference.Length / 512) - count + 1);
                    byte[] data = new byte[count * 512];
                    random.NextBytes(data);
                    await volume.Views[i % 6].WriteAsync(lba, data, WriteFlags.None);
                    data.CopyTo(reference.AsSpan((int)(lba * 512)));
                }

                await volume.Views[0].FlushAsync();
            }

            await using (var cluster = new InProcessCluster(root, transport: ClusterFixture.Transport(wire)))
            {
                // The layout must match the chunk files: a different size is refused, not misread.
                Assert.Throws<InvalidOperationException>(() => cluster.CreateVolume(reference.Length * 2, chunkSize: ClusterFixture.SmallChunk, stripesPerSubUnit: 4, id: id));

                ClusterVolume volume = cluster.CreateVolume(reference.Length, chunkSize: ClusterFixture.SmallChunk, stripesPerSubUnit: 4, id: id);
                Assert.Throws<InvalidOperationException>(() => cluster.CreateVolume(reference.Length, chunkSize: ClusterFixture.SmallChunk, stripesPerSubUnit: 4, id: id));
                await ReferenceWorkload.VerifyAllAsync(volume.Views[4], reference, "after reopen");
                (List<long> bad, _) = await volume.ScrubAsync();
                Assert.Empty(bad);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
