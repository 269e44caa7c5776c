using System.Buffers.Binary;
using Tessera.Scsi;

namespace Tessera.Storage.Tests;

public class CompareAndWriteTests
{
    private static byte[] Uniform(int length, long value)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i += 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i), value);
        }
        return bytes;
    }

    [Fact]
    public async Task ConcurrentCompareAndWriteIncrementsLoseNothing()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        VolumeInfo info = catalog.Create("caw", 1L << 20);
        // 512-byte lock regions: the two-block counter spans two stripes, and the
        // neighbouring blocks written by plain writers share those stripes.
        using ThinVolume volume = ThinVolume.Open(catalog.VolumePath(info.Id), info, regionShift: 9);
        // Give up the CPU between compare and write, so an unprotected compare-then-write would race visibly.
        volume.CompareAndWriteHook = () => Thread.Sleep(1);

        const long counterLba = 5;
        const int counterBytes = 1024;
        const int threads = 4;
        const int incrementsPerThread = 300;
        int tornReads = 0;
        long successes = 0;
        long miscompares = 0;

        // Dedicated threads (every await completes synchronously), so the workers really run at once.
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(async () =>
        {
            byte[] current = new byte[counterBytes];
            for (int done = 0; done < incrementsPerThread;)
            {
                await volume.ReadAsync(counterLba, current);
                long value = BinaryPrimitives.ReadInt64LittleEndian(current);
                if (!current.AsSpan().SequenceEqual(Uniform(counterBytes, value)))
                {
                    Interlocked.Increment(ref tornReads);
                    continue;
                }
                int result = await volume.CompareAndWriteAsync(counterLba, current, Uniform(counterBytes, value + 1), WriteFlags.None);
                if (result < 0)
                {
                    done++;
                    Interlocked.Increment(ref successes);
                }
                else
                {
                    Interlocked.Increment(ref miscompares);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToList();

        // Plain writers hammer the blocks around the counter (same stripes, other LBAs).
        using var stop = new CancellationTokenSource();
        var writers = new[] { counterLba - 1, counterLba + 2 }.Select(lba => Task.Factory.StartNew(async () =>
        {
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                await volume.WriteAsync(lba, Uniform(512, lba * 1_000_000 + n++), WriteFlags.None);
            }
            await volume.WriteAsync(lba, Uniform(512, lba), WriteFlags.None);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()).ToList();

        await Task.WhenAll(workers);
        stop.Cancel();
        await Task.WhenAll(writers);

        byte[] final = new byte[counterBytes];
        await volume.ReadAsync(counterLba, final);
        Assert.Equal(threads * incrementsPerThread, successes);
        Assert.Equal(Uniform(counterBytes, threads * incrementsPerThread), final);
        Assert.Equal(0, tornReads);
        Assert.True(miscompares > 0, "the workers never raced; the test proves nothing");
        foreach (long lba in new[] { counterLba - 1, counterLba + 2 })
        {
            byte[] neighbour = new byte[512];
            await volume.ReadAsync(lba, neighbour);
            Assert.Equal(Uniform(512, lba), neighbour);
        }
    }

    [Fact]
    public async Task AnOverlappingWriteWaitsForTheCompareAndWriteButADistantOneDoesNot()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("caw", 8L << 20);
        using ThinVolume volume = catalog.Open("caw");

        byte[] original = Uniform(1024, 1);
        byte[] swapped = Uniform(1024, 2);
        byte[] overlapping = Uniform(512, 3);
        await volume.WriteAsync(0, original, WriteFlags.None);

        using var overlappingDone = new ManualResetEventSlim();
        using var distantDone = new ManualResetEventSlim();
        Task? overlappingWrite = null;
        Task? distantWrite = null;
        bool overlappingFinishedInside = true;
        bool distantFinishedInside = false;

        volume.CompareAndWriteHook = () =>
        {
            // Inside COMPARE AND WRITE, range locked: block 1 overlaps, block 4096 (2 MiB away) does not.
            overlappingWrite = Task.Run(async () => { await volume.WriteAsync(1, overlapping, WriteFlags.None); overlappingDone.Set(); });
            distantWrite = Task.Run(async () => { await volume.WriteAsync(4096, overlapping, WriteFlags.None); distantDone.Set(); });
            distantFinishedInside = distantDone.Wait(TimeSpan.FromSeconds(30));
            overlappingFinishedInside = overlappingDone.Wait(TimeSpan.FromMilliseconds(300));
        };

        Assert.Equal(-1, await volume.CompareAndWriteAsync(0, original, swapped, WriteFlags.None));
        volume.CompareAndWriteHook = null;
        await overlappingWrite!;
        await distantWrite!;

        Assert.True(distantFinishedInside, "a write to another stripe was blocked by COMPARE AND WRITE");
        Assert.False(overlappingFinishedInside, "an overlapping write completed in the middle of COMPARE AND WRITE");

        // Serial order: COMPARE AND WRITE, then the overlapping write.
        byte[] back = new byte[1024];
        await volume.ReadAsync(0, back);
        Assert.Equal(swapped.AsSpan(0, 512).ToArray(), back.AsSpan(0, 512).ToArray());
        Assert.Equal(overlapping, back.AsSpan(512).ToArray());
    }
}
