using System.Diagnostics;
using Tessera.Cluster.Volume;
using Tessera.Scsi;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Volume;

[CollectionDefinition(nameof(NetworkCostTests), DisableParallelization = true)]
public sealed class NetworkCostCollection;

/// <summary>
/// What the wire costs: bytes allocated per I/O over TCP (both ends in this process), and 4 KiB /
/// 1 MiB rates through one portal over TCP beside the direct composition. Rates are printed for
/// docs/distributed-volume.md, never asserted (the machine is shared). Runs alone: allocation is
/// measured process-wide.
/// </summary>
[Collection(nameof(NetworkCostTests))]
public sealed class NetworkCostTests(ITestOutputHelper output)
{
    /// <summary>
    /// No buffer per I/O anywhere on the single-owner path: what is allocated per I/O (async state
    /// of the stripe steps that now really wait, thread-pool work items) is far below the data size.
    /// </summary>
    [Fact]
    public async Task SingleOwnerIoOverTcpAllocatesNoDataSizedBuffers()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 16 << 20, chunkSize: 64 * 1024, stripesPerSubUnit: 64, wire: Wire.Tcp);
        DistributedVolume view = fixture.View(1);
        byte[] small = new byte[4096];
        byte[] large = new byte[1 << 20];
        new Random(1).NextBytes(large);
        for (int i = 0; i < 100; i++)
        {
            await view.WriteAsync(0, large, WriteFlags.None);
            await view.ReadAsync(0, large);
            await view.WriteAsync(8 * i, small, WriteFlags.None);
            await view.ReadAsync(8 * i, small);
        }

        long write4k = await MeasureAsync(() => view.WriteAsync(24, small, WriteFlags.None), 400);
        long read4k = await MeasureAsync(() => view.ReadAsync(16, small), 400);
        long write1m = await MeasureAsync(() => view.WriteAsync(0, large, WriteFlags.None), 40);
        long read1m = await MeasureAsync(() => view.ReadAsync(0, large), 40);
        output.WriteLine($"bytes allocated per I/O over TCP, process-wide: 4 KiB write {write4k}, 4 KiB read {read4k}, 1 MiB write {write1m}, 1 MiB read {read1m}");
        Assert.True(read4k < 4096, "a 4 KiB read allocates less than its own size");
        Assert.True(write1m < 64 * 1024 && read1m < 64 * 1024, "a 1 MiB I/O allocates less than one chunk");
#if !DEBUG
        // Debug builds compile async methods to classes: a 4 KiB write's dozen stripe steps cost ~9 KiB there.
        Assert.True(write4k < 4096, "a 4 KiB write allocates less than its own size");
#endif
    }

    [Fact]
    public async Task RatesThroughOnePortalOverTcpAndDirect()
    {
        const long Size = 64L << 20;
        foreach (Wire wire in new[] { Wire.Direct, Wire.Tcp })
        {
            await using var fixture = ClusterFixture.Create(sizeBytes: Size, chunkSize: 64 * 1024, stripesPerSubUnit: 64, wire: wire);
            var best = new double[4];
            for (int run = 0; run < 3; run++)
            {
                double[] rates = await MeasureRatesAsync(fixture.View(0), Size);
                for (int i = 0; i < best.Length; i++)
                {
                    best[i] = Math.Max(best[i], rates[i]);
                }
            }

            output.WriteLine($"{wire,-6} one portal: 1 MiB write QD8 {best[0]:F0} MiB/s, 1 MiB read QD8 {best[1]:F0} MiB/s, 4 KiB write QD32 {best[2]:F0} IOPS, 4 KiB read QD32 {best[3]:F0} IOPS");
        }
    }

    private static async Task<double[]> MeasureRatesAsync(DistributedVolume view, long size)
    {
        byte[][] mib = Enumerable.Range(0, 8).Select(i => Filled(1 << 20, i + 1)).ToArray();
        var clock = Stopwatch.StartNew();
        for (long offset = 0; offset < size; offset += 8L << 20)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i => view.WriteAsync((offset + ((long)i << 20)) / 512, mib[i], WriteFlags.None).AsTask()));
        }

        double write1m = size / clock.Elapsed.TotalSeconds / (1 << 20);
        byte[][] buffers = Enumerable.Range(0, 8).Select(_ => new byte[1 << 20]).ToArray();
        clock.Restart();
        for (long offset = 0; offset < size; offset += 8L << 20)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i => view.ReadAsync((offset + ((long)i << 20)) / 512, buffers[i]).AsTask()));
        }

        double read1m = size / clock.Elapsed.TotalSeconds / (1 << 20);
        Assert.Equal(mib[7], buffers[7]);

        const int Ios = 8000;
        var random = new Random(3);
        long[] lbas = Enumerable.Range(0, Ios).Select(_ => random.NextInt64(size / 4096) * 8).ToArray();
        byte[] small = Filled(4096, 99);
        double write4k = await QueueDepthAsync(32, Ios, i => view.WriteAsync(lbas[i], small, WriteFlags.None));
        double read4k = await QueueDepthAsync(32, Ios, i => view.ReadAsync(lbas[i], new byte[4096]));
        byte[] check = new byte[4096];
        await view.ReadAsync(lbas[0], check);
        Assert.Equal(small, check);
        return [write1m, read1m, write4k, read4k];
    }

    private static async Task<double> QueueDepthAsync(int depth, int count, Func<int, ValueTask> io)
    {
        int next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, depth).Select(_ => Task.Run(async () =>
        {
            for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                await io(i);
            }
        })));
        return count / clock.Elapsed.TotalSeconds;
    }

    private static async Task<long> MeasureAsync(Func<ValueTask> io, int count)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < count; i++)
        {
            await io();
        }

        return (GC.GetTotalAllocatedBytes(precise: true) - before) / count;
    }

    private static byte[] Filled(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
