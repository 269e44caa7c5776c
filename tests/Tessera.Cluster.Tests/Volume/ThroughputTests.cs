using System.Diagnostics;
using Tessera.Cluster.Volume;
using Tessera.Scsi;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// In-process volume throughput on the default geometry (6 nodes, 4+2, 64 KiB chunks), printed for
/// the report; the assertions are on the data only (timing goals belong to bench/).
/// </summary>
public sealed class ThroughputTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RandomFourKiBWritesAndSequentialOneMiBWritesAndReadsReturnTheData()
    {
        const long Size = 64L << 20;
        await using var fixture = ClusterFixture.Create(sizeBytes: Size, chunkSize: 64 * 1024, stripesPerSubUnit: 64);
        IBlockStore[] views = fixture.Volume.Views.ToArray<IBlockStore>();

        // The same workloads on one node's store alone, for the ratio the issue asks about (first, so
        // the cluster's dirty pages do not throttle it).
        string dir = Path.Combine(fixture.Root, "single");
        using var catalog = new Tessera.Storage.VolumeCatalog(dir);
        catalog.Create("single", Size);
        await using Tessera.Storage.ThinVolume single = catalog.Open("single");
        (double singleWrite, double singleRead, double singleRandom) = await BestOfAsync([single], Size);
        await single.FlushAsync();

        (double seqWrite, double seqRead, double randomWrites) = await BestOfAsync(views, Size);

        output.WriteLine($"6-node 4+2 in process: 1 MiB sequential write {seqWrite:F0} MiB/s, 1 MiB sequential read {seqRead:F0} MiB/s, 4 KiB random write QD32 {randomWrites:F0} IOPS");
        output.WriteLine($"one ThinVolume:        1 MiB sequential write {singleWrite:F0} MiB/s, 1 MiB sequential read {singleRead:F0} MiB/s, 4 KiB random write QD32 {singleRandom:F0} IOPS");
        output.WriteLine($"ratio single/cluster:  write {singleWrite / seqWrite:F2}, read {singleRead / seqRead:F2}, 4 KiB write {singleRandom / randomWrites:F2}");
    }

    /// <summary>Best of three runs: the machine is shared, so the best run is the least disturbed one.</summary>
    private static async Task<(double SeqWrite, double SeqRead, double RandomWrites)> BestOfAsync(IBlockStore[] views, long size)
    {
        (double w, double r, double x) best = default;
        for (int run = 0; run < 3; run++)
        {
            (double w, double r, double x) = await MeasureAsync(views, size);
            best = (Math.Max(best.w, w), Math.Max(best.r, r), Math.Max(best.x, x));
        }

        return best;
    }

    private static async Task<(double SeqWrite, double SeqRead, double RandomWrites)> MeasureAsync(IBlockStore[] views, long size)
    {
        // 1 MiB sequential writes, 8 in flight, through rotating portals.
        byte[][] mib = Enumerable.Range(0, 8).Select(i => Filled(1 << 20, i + 1)).ToArray();
        var clock = Stopwatch.StartNew();
        for (long offset = 0; offset < size; offset += 8L << 20)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                views[i % views.Length].WriteAsync((offset + ((long)i << 20)) / 512, mib[i], WriteFlags.None).AsTask()));
        }

        double seqWrite = size / clock.Elapsed.TotalSeconds / (1 << 20);

        // 1 MiB sequential reads, 8 in flight.
        byte[][] buffers = Enumerable.Range(0, 8).Select(_ => new byte[1 << 20]).ToArray();
        TimeSpan reading = TimeSpan.Zero;
        for (long offset = 0; offset < size; offset += 8L << 20)
        {
            clock.Restart();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                views[i % views.Length].ReadAsync((offset + ((long)i << 20)) / 512, buffers[i]).AsTask()));
            reading += clock.Elapsed;
            for (int i = 0; i < 8; i++)
            {
                Assert.True(buffers[i].AsSpan().SequenceEqual(mib[i]), $"MiB at {offset + ((long)i << 20)}");
            }
        }

        double seqRead = size / reading.TotalSeconds / (1 << 20);

        // 4 KiB random writes, 32 in flight, then read back.
        const int Writes = 10000;
        var random = new Random(3);
        long[] lbas = Enumerable.Range(0, Writes).Select(_ => random.NextInt64(size / 4096) * 8).ToArray();
        byte[] small = Filled(4096, 99);
        clock.Restart();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(worker => Task.Run(async () =>
        {
            IBlockStore view = views[worker % views.Length];
            for (int i = Interlocked.Increment(ref next); i < Writes; i = Interlocked.Increment(ref next))
            {
                await view.WriteAsync(lbas[i], small, WriteFlags.None);
            }
        })));
        double randomWrites = Writes / clock.Elapsed.TotalSeconds;

        byte[] check = new byte[4096];
        foreach (long lba in lbas.Take(500))
        {
            await views[(int)(lba % views.Length)].ReadAsync(lba, check);
            Assert.Equal(small, check);
        }

        return (seqWrite, seqRead, randomWrites);
    }

    private static byte[] Filled(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
