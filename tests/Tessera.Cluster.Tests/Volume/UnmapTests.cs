using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

public sealed class UnmapTests
{
    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task UnmappingTheWholeVolumeGivesSpaceBackOnEveryNodeAndReadsZeros(Wire wire)
    {
        // Real geometry: 64 KiB chunks, 64 stripes per sub-unit.
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 32 << 20, chunkSize: 64 * 1024, stripesPerSubUnit: 64);
        VolumeLayout layout = fixture.Layout;
        byte[] data = new byte[1 << 20];
        new Random(1).NextBytes(data);
        for (long lba = 0; lba < layout.BlockCount; lba += data.Length / 512)
        {
            await fixture.View((int)(lba % 6)).WriteAsync(lba, data, WriteFlags.None);
        }

        await fixture.View(0).FlushAsync();
        long[] before = fixture.Cluster.Stores.Select(s => s.AllocatedBytes(layout.VolumeId)).ToArray();
        Assert.All(before, b => Assert.True(b >= 8 << 20, $"{b} bytes allocated"));

        await fixture.View(2).UnmapAsync(0, layout.BlockCount);
        await fixture.View(0).FlushAsync();
        long[] after = fixture.Cluster.Stores.Select(s => s.AllocatedBytes(layout.VolumeId)).ToArray();
        for (int node = 0; node < before.Length; node++)
        {
            Assert.True(after[node] <= before[node] / 10, $"node {node}: {before[node]} → {after[node]} bytes");
        }

        await ReferenceWorkload.VerifyAllAsync(fixture.View(4), new byte[layout.SizeBytes], "after unmap");
        LbaStatusRun run = await fixture.View(1).GetLbaStatusAsync(0);
        Assert.False(run.Mapped);
        Assert.True(run.BlockCount >= 4096 * 16, $"run of {run.BlockCount} blocks");
        (List<long> bad, _) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task PartialUnmapZerosTheRangeKeepsNeighboursAndParity(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        VolumeLayout layout = fixture.Layout;
        byte[] reference = new byte[256 << 10];
        new Random(2).NextBytes(reference);
        await fixture.View(0).WriteAsync(0, reference, WriteFlags.None);

        // Unaligned ranges: inside a chunk, across chunks, across stripes and sub-units.
        foreach ((long lba, int count) in new[] { (3L, 2), (30L, 17), (100L, 70), (120L, 200) })
        {
            await fixture.View((int)(lba % 6)).UnmapAsync(lba, count);
            reference.AsSpan((int)(lba * 512), count * 512).Clear();
        }

        byte[] read = new byte[reference.Length];
        await fixture.View(5).ReadAsync(0, read);
        ReferenceWorkload.AssertEqual(reference, read, 0, "after partial unmaps");
        (List<long> bad, _) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task LbaStatusFollowsTheDataColumns(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, blockSize: 4096, chunkSize: 16384);
        VolumeLayout layout = fixture.Layout;
        long chunkBlocks = layout.ChunkSize / layout.BlockSize;

        // Write the second chunk (data column 1) of stripe 2 and one block of its third chunk.
        long first = (2 * layout.StripeDataSize / layout.BlockSize) + chunkBlocks;
        await fixture.View(0).WriteAsync(first, new byte[layout.ChunkSize].Select(_ => (byte)1).ToArray(), WriteFlags.None);
        await fixture.View(0).WriteAsync(first + chunkBlocks, new byte[4096].Select(_ => (byte)1).ToArray(), WriteFlags.None);

        LbaStatusRun before = await fixture.View(3).GetLbaStatusAsync(0);
        Assert.False(before.Mapped);
        Assert.Equal(first, before.BlockCount);

        LbaStatusRun mapped = await fixture.View(3).GetLbaStatusAsync(first);
        Assert.True(mapped.Mapped);
        Assert.Equal(chunkBlocks + 1, mapped.BlockCount);

        LbaStatusRun after = await fixture.View(1).GetLbaStatusAsync(first + chunkBlocks + 1);
        Assert.False(after.Mapped);

        // Unmapping it makes the whole volume one deallocated run again.
        await fixture.View(2).UnmapAsync(first, (int)chunkBlocks + 1);
        Assert.False((await fixture.View(4).GetLbaStatusAsync(first)).Mapped);
    }
}
