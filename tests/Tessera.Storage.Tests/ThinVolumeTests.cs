using Tessera.Scsi;

namespace Tessera.Storage.Tests;

public class ThinVolumeTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task UnwrittenBlocksReadAsZeros()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 16L << 20);
        using ThinVolume volume = catalog.Open("v");
        byte[] buffer = Pattern(64 * 1024, 1);
        await volume.ReadAsync(100, buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task WrittenDataReadsBackAndSurvivesReopen()
    {
        using var dir = new TempDirectory();
        byte[] data = Pattern(3 * 4096, 2);
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            catalog.Create("v", 16L << 20, blockSize: 4096);
            await using ThinVolume volume = catalog.Open("v");
            await volume.WriteAsync(10, data, WriteFlags.None);
            await volume.WriteAsync(4095, data.AsMemory(0, 4096), WriteFlags.Fua);
        }

        using var again = new VolumeCatalog(dir.Path);
        using ThinVolume reopened = again.Open("v");
        byte[] back = new byte[data.Length];
        await reopened.ReadAsync(10, back);
        Assert.Equal(data, back);
        byte[] last = new byte[4096];
        await reopened.ReadAsync(4095, last);
        Assert.Equal(data.AsSpan(0, 4096).ToArray(), last);
    }

    [Fact]
    public async Task OutOfRangeAndPartialBlockTransfersAreRejected()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 1L << 20);
        using ThinVolume volume = catalog.Open("v");
        Assert.Equal(2048, volume.BlockCount);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await volume.ReadAsync(2048, new byte[512]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await volume.ReadAsync(2047, new byte[1024]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await volume.WriteAsync(-1, new byte[512], WriteFlags.None));
        await Assert.ThrowsAsync<ArgumentException>(async () => await volume.WriteAsync(0, new byte[100], WriteFlags.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await volume.UnmapAsync(2000, 49));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await volume.GetLbaStatusAsync(2048));
        await volume.ReadAsync(2047, new byte[512]);
    }

    [Fact]
    public async Task ReadOnlyVolumeRefusesEveryChangeButReads()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("ro", 1L << 20, readOnly: true);
        using ThinVolume volume = catalog.Open("ro");
        Assert.True(volume.IsReadOnly);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await volume.WriteAsync(0, new byte[512], WriteFlags.None));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await volume.UnmapAsync(0, 1));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await volume.CompareAndWriteAsync(0, new byte[512], new byte[512], WriteFlags.None));
        byte[] buffer = new byte[512];
        await volume.ReadAsync(0, buffer);
        await volume.FlushAsync();
        // A read-only volume may be opened by several readers at once.
        using ThinVolume second = catalog.Open("ro");
        await second.ReadAsync(0, buffer);
    }

    [Fact]
    public async Task UnmappedBlocksReadZerosAndReportDeallocated()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 64L << 20, blockSize: 4096);
        using ThinVolume volume = catalog.Open("v");
        byte[] data = Pattern(256 * 4096, 3);
        await volume.WriteAsync(256, data, WriteFlags.None);

        Assert.Equal(new LbaStatusRun(0, 256, Mapped: false), await volume.GetLbaStatusAsync(0));
        Assert.Equal(new LbaStatusRun(256, 256, Mapped: true), await volume.GetLbaStatusAsync(256));
        Assert.Equal(new LbaStatusRun(300, 212, Mapped: true), await volume.GetLbaStatusAsync(300));
        Assert.Equal(new LbaStatusRun(512, volume.BlockCount - 512, Mapped: false), await volume.GetLbaStatusAsync(512));

        await volume.UnmapAsync(300, 100);
        Assert.Equal(new LbaStatusRun(256, 44, Mapped: true), await volume.GetLbaStatusAsync(256));
        Assert.Equal(new LbaStatusRun(300, 100, Mapped: false), await volume.GetLbaStatusAsync(300));
        Assert.Equal(new LbaStatusRun(350, 50, Mapped: false), await volume.GetLbaStatusAsync(350));
        Assert.Equal(new LbaStatusRun(400, 112, Mapped: true), await volume.GetLbaStatusAsync(400));

        byte[] back = new byte[256 * 4096];
        await volume.ReadAsync(256, back);
        Assert.Equal(data.AsSpan(0, 44 * 4096).ToArray(), back.AsSpan(0, 44 * 4096).ToArray());
        Assert.All(back.AsSpan(44 * 4096, 100 * 4096).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(data.AsSpan(144 * 4096).ToArray(), back.AsSpan(144 * 4096).ToArray());
    }

    [Fact]
    public async Task SmallBlocksReportTheWholeFileSystemBlockTheyShare()
    {
        // With 512-byte LBAs on a 4 KiB file system block, one written LBA maps its 4 KiB neighbourhood.
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 1L << 20);
        using ThinVolume volume = catalog.Open("v");
        await volume.WriteAsync(17, Pattern(512, 4), WriteFlags.None);
        LbaStatusRun run = await volume.GetLbaStatusAsync(17);
        Assert.True(run.Mapped);
        Assert.True(run.Lba + run.BlockCount > 17);
        LbaStatusRun before = await volume.GetLbaStatusAsync(0);
        Assert.False(before.Mapped);
        Assert.True(before.BlockCount <= 17);
        Assert.Equal(0, before.BlockCount % 8);
    }

    [Fact]
    public async Task UnmapGivesSpaceBack()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("thin", 256L << 20);
        using ThinVolume volume = catalog.Open("thin");
        long empty = volume.AllocatedBytes;

        byte[] chunk = Pattern(1 << 20, 5);
        const int mebibytes = 64;
        for (int i = 0; i < mebibytes; i++)
        {
            await volume.WriteAsync(i * 2048L, chunk, WriteFlags.None);
        }
        await volume.FlushAsync();
        long written = volume.AllocatedBytes - empty;
        Assert.True(written >= mebibytes << 20, $"64 MiB written but only {written} bytes allocated");
        Assert.Equal(written + empty, catalog.GetAllocatedBytes("thin"));

        await volume.UnmapAsync(0, mebibytes * 2048L);
        await volume.FlushAsync();
        long after = volume.AllocatedBytes - empty;
        Assert.True(after <= written / 10, $"after UNMAP {after} of {written} bytes are still allocated");

        Assert.Equal(new LbaStatusRun(0, volume.BlockCount, Mapped: false), await volume.GetLbaStatusAsync(0));
        byte[] back = new byte[1 << 20];
        for (int i = 0; i < mebibytes; i += 7)
        {
            await volume.ReadAsync(i * 2048L, back);
            Assert.All(back, b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public async Task UnmapOfASingleSmallBlockZeroesItWithoutTouchingNeighbours()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 1L << 20);
        using ThinVolume volume = catalog.Open("v");
        byte[] data = Pattern(8 * 512, 6);
        await volume.WriteAsync(8, data, WriteFlags.None);
        await volume.UnmapAsync(10, 1);
        byte[] back = new byte[8 * 512];
        await volume.ReadAsync(8, back);
        Assert.Equal(data.AsSpan(0, 1024).ToArray(), back.AsSpan(0, 1024).ToArray());
        Assert.All(back.AsSpan(1024, 512).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(data.AsSpan(1536).ToArray(), back.AsSpan(1536).ToArray());
    }

    [Fact]
    public async Task CompareAndWriteWritesOnlyOnMatchAndReportsTheFirstMiscompare()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 1L << 20);
        using ThinVolume volume = catalog.Open("v");
        byte[] original = Pattern(1024, 7);
        byte[] replacement = Pattern(1024, 8);
        await volume.WriteAsync(4, original, WriteFlags.None);

        byte[] wrongCompare = (byte[])original.Clone();
        wrongCompare[700] ^= 0xFF;
        Assert.Equal(700, await volume.CompareAndWriteAsync(4, wrongCompare, replacement, WriteFlags.None));
        byte[] back = new byte[1024];
        await volume.ReadAsync(4, back);
        Assert.Equal(original, back);

        Assert.Equal(-1, await volume.CompareAndWriteAsync(4, original, replacement, WriteFlags.Fua));
        await volume.ReadAsync(4, back);
        Assert.Equal(replacement, back);
    }

    [Fact]
    public async Task ColdReadsGoToTheThreadPoolAndReturnTheData()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("cold", 16L << 20, blockSize: 4096);
        using ThinVolume volume = catalog.Open("cold");
        byte[] data = Pattern(1 << 20, 9);
        await volume.WriteAsync(512, data, WriteFlags.None);

        byte[] back = new byte[1 << 20];
        await volume.ReadAsync(512, back);
        Assert.Equal(0, volume.ColdReads);

        volume.DropPageCache();
        Array.Clear(back);
        await volume.ReadAsync(512, back);
        Assert.Equal(data, back);
        Assert.Equal(1, volume.ColdReads);
    }

    [Fact]
    public async Task DisposedVolumeRefusesIo()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v", 1L << 20);
        ThinVolume volume = catalog.Open("v");
        volume.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await volume.ReadAsync(0, new byte[512]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await volume.FlushAsync());
        // And the exclusive lock is gone with it.
        using ThinVolume again = catalog.Open("v");
    }
}
