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
        const long Size = 256L << 20;
        await using var fixture = ClusterFixture.Create(sizeBytes: Size, chunkSize: 64 * 1024, stripesPerSubUnit: 64);
        VolumeLayout layout = fixture.Layout;

        // 1 MiB sequential writes, 8 in flight, through rotating portals.
        byte[][] mib = Enumerable.Range(0, 8).Select(i => Filled(1 << 20, i + 1)).ToArray();
        var clock = Stopwatch.StartNew();
        for (long offset = 0; offset < Size; offset += 8L << 20)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                fixture.View(i % 6).WriteAsync((offset + ((long)i << 20)) / 512, mib[i], WriteFlags.None).AsTask()));
        }

        double seqWrite = Size / clock.Elapsed.TotalSeconds / (1 << 20);

        // 1 MiB sequential reads, 8 in flight.
        byte[][] buffers = Enumerable.Range(0, 8).Select(_ => new byte[1 << 20]).ToArray();
        clock.Restart();
        for (long offset = 0; offset < Size; offset += 8L << 20)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                fixture.View(i % 6).ReadAsync((offset + ((long)i << 20)) / 512, buffers[i]).AsTask()));
            for (int i = 0; i < 8; i++)
            {
                Assert.True(buffers[i].AsSpan().SequenceEqual(mib[i]), $"MiB at {offset + ((long)i << 20)}");
            }
        }

        double seqRead = Size / clock.Elapsed.TotalSeconds / (1 << 20);

        // 4 KiB random writes, 32 in flight, then read back.
        const int Writes = 20000;
        var random = new Random(3);
        long[] lbas = Enumerable.Range(0, Writes).Select(_ => random.NextInt64(Size / 4096) * 8).ToArray();
        byte[] small = Filled(4096, 99);
        clock.Restart();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(worker => Task.Run(async () =>
        {
            DistributedVolume view = fixture.View(worker % 6);
            for (int i = Interlocked.Increment(ref next); i < Writes; i = Interlocked.Increment(ref next))
            {
                await view.WriteAsync(lbas[i], small, WriteFlags.None);
            }
        })));
        double randomWrites = Writes / clock.Elapsed.TotalSeconds;

        byte[] check = new byte[4096];
        foreach (long lba in lbas.Take(500))
        {
            await fixture.View((int)(lba % 6)).ReadAsync(lba, check);
            Assert.Equal(small, check);
        }

        output.WriteLine($"1 MiB sequential write: {seqWrite:F0} MiB/s; 1 MiB sequential read: {seqRead:F0} MiB/s; 4 KiB random write QD32: {randomWrites:F0} IOPS");
    }

    private static byte[] Filled(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
