using Tessera.Cluster.Volume;
using Tessera.Scsi;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>Bytes allocated per I/O on the in-process hot paths (page-cache chunk I/O completes synchronously).</summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReadsAndSingleOwnerWritesAllocateNothing()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 16 << 20, chunkSize: 64 * 1024, stripesPerSubUnit: 64);
        DistributedVolume view = fixture.View(1);
        byte[] small = new byte[4096];
        byte[] large = new byte[1 << 20];
        new Random(1).NextBytes(large);
        await view.WriteAsync(0, large, WriteFlags.None);

        // Warm up pools and JIT.
        for (int i = 0; i < 50; i++)
        {
            await view.ReadAsync(8 * i, small);
            await view.WriteAsync(8 * i, small, WriteFlags.None);
        }

        long read4k = Measure(() => view.ReadAsync(16, small), 200);
        long read1m = Measure(() => view.ReadAsync(0, large), 20);
        long write4k = Measure(() => view.WriteAsync(24, small, WriteFlags.None), 200);
        long write1m = Measure(() => view.WriteAsync(0, large, WriteFlags.None), 20);
        output.WriteLine($"bytes per I/O: 4 KiB read {read4k}, 1 MiB read {read1m}, 4 KiB write {write4k}, 1 MiB write {write1m}");
        Assert.Equal(0, read4k);
        Assert.Equal(0, read1m);
#if !DEBUG
        // Debug builds compile async methods to classes, so the write path's state machines allocate there.
        Assert.Equal(0, write4k);
        Assert.Equal(0, write1m);
#endif
    }

    /// <summary>
    /// Bytes allocated per I/O on this thread: the least of three rounds, so a one-off lazy
    /// initialisation that lands in a round (a pool's per-thread bucket, a table growing once) does
    /// not count as a per-I/O cost — a real per-I/O allocation shows in every round.
    /// </summary>
    private static long Measure(Func<ValueTask> io, int count)
    {
        long least = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < count; i++)
            {
                ValueTask pending = io();
                Assert.True(pending.IsCompletedSuccessfully, "page-cache I/O completes synchronously");
                pending.GetAwaiter().GetResult();
            }

            least = Math.Min(least, (GC.GetAllocatedBytesForCurrentThread() - before) / count);
        }

        return least;
    }
}
