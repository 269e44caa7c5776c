using Tessera.Scsi;

namespace Tessera.Storage.Tests;

public class AllocationTests
{
    [Fact]
    public void ReadsWritesAndLbaStatusOfPageCacheDataAllocateNothingAndCompleteSynchronously()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("hot", 64L << 20, blockSize: 4096);
        using ThinVolume volume = catalog.Open("hot");
        byte[] buffer = new byte[4096];
        buffer.AsSpan().Fill(0x5A);
        Memory<byte> memory = buffer;

        int notSynchronous = 0;
        void Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                long lba = (i * 7919L) % 16384;
                ValueTask write = volume.WriteAsync(lba, memory, WriteFlags.None);
                if (!write.IsCompletedSuccessfully)
                {
                    notSynchronous++;
                }
                ValueTask read = volume.ReadAsync(lba, memory);
                if (!read.IsCompletedSuccessfully)
                {
                    notSynchronous++;
                }
                ValueTask<LbaStatusRun> status = volume.GetLbaStatusAsync(lba);
                if (!status.IsCompletedSuccessfully || !status.Result.Mapped)
                {
                    notSynchronous++;
                }
            }
        }

        Loop(2000); // warm up: JIT, tiering, ArrayPool, statics
        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, notSynchronous);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void CompareAndWriteAllocatesNothingOnceThePoolIsWarm()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("caw", 1L << 20);
        using ThinVolume volume = catalog.Open("caw");
        byte[] a = new byte[512];
        byte[] b = new byte[512];
        b[0] = 1;
        int failures = 0;
        void Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                ValueTask<int> swap = volume.CompareAndWriteAsync(3, (i & 1) == 0 ? a : b, (i & 1) == 0 ? b : a, WriteFlags.None);
                if (!swap.IsCompletedSuccessfully || swap.Result != -1)
                {
                    failures++;
                }
            }
        }

        Loop(1000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(5000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, failures);
        Assert.Equal(0, allocated);
    }
}
