using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

public sealed class DegradedTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>Every single node and every pair directly; over TCP every single node and every pair with node 2.</summary>
    public static TheoryData<int, int, Wire> DownSets()
    {
        var data = new TheoryData<int, int, Wire>();
        for (int a = 0; a < 6; a++)
        {
            data.Add(a, -1, Wire.Direct);
            data.Add(a, -1, Wire.Tcp);
            for (int b = a + 1; b < 6; b++)
            {
                data.Add(a, b, Wire.Direct);
                if (a == 2 || b == 2)
                {
                    data.Add(a, b, Wire.Tcp);
                }
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
    public async Task AnyOneOrTwoNodesDownReadsStillReturnTheReference(int first, int second, Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 512 << 10);
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

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task ThreeNodesDownFailsReadsOfStripesMissingThreeColumns(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 256 << 10);
        byte[] data = new byte[fixture.Layout.StripeDataSize];
        new Random(3).NextBytes(data);
        await fixture.View(0).WriteAsync(0, data, WriteFlags.None);

        // Stripe 0 lives on nodes 0..5; nodes 0, 1, 2 hold data columns 0, 1, 2.
        fixture.Cluster.MarkDown(new NodeId(0));
        fixture.Cluster.MarkDown(new NodeId(1));
        fixture.Cluster.MarkDown(new NodeId(2));
        await Assert.ThrowsAsync<IOException>(async () => await fixture.View(4).ReadAsync(0, new byte[512]));
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task StripeWithAMissingColumnScrubsAsUnchecked(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 256 << 10);
        fixture.Cluster.MarkDown(new NodeId(5));
        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(fixture.Layout.StripeCount, skipped);
    }

    /// <summary>
    /// Nodes leave while four portals write (each to its own two sub-units, so the reference is
    /// deterministic, and many writes span two owners): in-flight requests that were cut off are
    /// retried by the portal under the new ownership, and afterwards every survivor reads the reference.
    /// </summary>
    [Theory]
    [InlineData(2, 5, 1, Wire.Direct)]
    [InlineData(2, 5, 1, Wire.Tcp)]
    [InlineData(0, 3, 2, Wire.Direct)]
    [InlineData(0, 3, 2, Wire.Tcp)]
    [InlineData(1, 4, 3, Wire.Direct)]
    [InlineData(1, 4, 3, Wire.Tcp)]
    [InlineData(5, 0, 4, Wire.Direct)]
    [InlineData(5, 0, 4, Wire.Tcp)]
    public async Task NodesLeavingDuringAWorkloadLoseNoCompletedWrite(int firstDown, int secondDown, int seed, Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 1 << 20, jitterSeed: seed);
        VolumeLayout layout = fixture.Layout;
        byte[] reference = new byte[layout.SizeBytes];
        long unitBlocks = layout.StripesPerSubUnit * layout.StripeDataSize / layout.BlockSize;
        int[] portals = Enumerable.Range(0, 6).Where(n => n != firstDown && n != secondDown).ToArray();
        int completed = 0;

        async Task WriterAsync(int index)
        {
            var random = new Random(seed * 100 + index);
            DistributedVolume view = fixture.View(portals[index]);
            long regionStart = index * 2 * unitBlocks;
            for (int i = 0; i < 150; i++)
            {
                int count = 1 + random.Next(48);
                long lba = regionStart + random.NextInt64((2 * unitBlocks) - count + 1);
                byte[] data = new byte[count * layout.BlockSize];
                random.NextBytes(data);
                await view.WriteAsync(lba, data, WriteFlags.None);
                data.CopyTo(reference.AsSpan((int)(lba * layout.BlockSize)));
                Interlocked.Increment(ref completed);
            }
        }

        // The upper half stays as written before the failures; readers check it throughout, so reads
        // that meet a node going down mid-flight fall back to degraded reads and still return it.
        long staticStart = 8 * unitBlocks;
        byte[] staticData = new byte[(int)((layout.BlockCount - staticStart) * layout.BlockSize)];
        new Random(seed).NextBytes(staticData);
        await fixture.View(portals[0]).WriteAsync(staticStart, staticData, WriteFlags.None);
        staticData.CopyTo(reference.AsSpan((int)(staticStart * layout.BlockSize)));
        using var stopReaders = new CancellationTokenSource();
        long reads = 0;

        async Task ReaderAsync(int index)
        {
            var random = new Random(-seed - index);
            while (!stopReaders.IsCancellationRequested)
            {
                int count = 1 + random.Next(200);
                long lba = staticStart + random.NextInt64(layout.BlockCount - staticStart - count + 1);
                byte[] read = new byte[count * layout.BlockSize];
                await fixture.View(portals[random.Next(portals.Length)]).ReadAsync(lba, read);
                ReferenceWorkload.AssertEqual(staticData.AsSpan((int)((lba - staticStart) * layout.BlockSize), read.Length), read, lba * layout.BlockSize, "concurrent read");
                Interlocked.Increment(ref reads);
            }
        }

        Task readers = Task.WhenAll(Task.Run(() => ReaderAsync(0)), Task.Run(() => ReaderAsync(1)));
        Task writers = Task.WhenAll(Enumerable.Range(0, portals.Length).Select(i => Task.Run(() => WriterAsync(i))));
        while (Volatile.Read(ref completed) < 150 && !writers.IsCompleted)
        {
            await Task.Delay(1);
        }

        fixture.Cluster.MarkDown(new NodeId(firstDown));
        while (Volatile.Read(ref completed) < 350 && !writers.IsCompleted)
        {
            await Task.Delay(1);
        }

        fixture.Cluster.MarkDown(new NodeId(secondDown));
        await writers;
        stopReaders.Cancel();
        await readers;
        Assert.True(reads > 0);
        Assert.Equal(150 * portals.Length, completed);
        output.WriteLine($"{portals.Sum(p => fixture.View(p).Retries)} requests retried after a node left");
        foreach (int node in portals)
        {
            await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"after {firstDown},{secondDown} left: read via {node}");
        }
    }
}
