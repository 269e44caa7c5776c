using Tessera.Scsi;

namespace Tessera.Storage.Tests;

public class GroupCommitTests
{
    [Fact]
    public async Task OneSyncServesEveryRequestQueuedBeforeItStartsAndNoneAfter()
    {
        using var firstEntered = new ManualResetEventSlim();
        using var releaseFirst = new ManualResetEventSlim();
        using var secondEntered = new ManualResetEventSlim();
        using var releaseSecond = new ManualResetEventSlim();
        int calls = 0;
        var commit = new GroupCommit(_ =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    firstEntered.Set();
                    releaseFirst.Wait();
                    break;
                case 2:
                    secondEntered.Set();
                    releaseSecond.Wait();
                    break;
            }
        });

        Task first = commit.FlushAsync().AsTask();
        Assert.True(firstEntered.Wait(TimeSpan.FromSeconds(30)));

        // Ten requests arrive while the first sync runs: it must not serve them (their writes may postdate it).
        Task[] waiting = Enumerable.Range(0, 10).Select(_ => commit.FlushAsync().AsTask()).ToArray();
        releaseFirst.Set();
        await first;
        Assert.True(secondEntered.Wait(TimeSpan.FromSeconds(30)));
        Assert.All(waiting, t => Assert.False(t.IsCompleted));

        releaseSecond.Set();
        await Task.WhenAll(waiting);
        Assert.Equal(2, commit.SyncCount);
        Assert.Equal(11, commit.RequestCount);
    }

    [Fact]
    public async Task MetadataChangesMakeTheNextSyncFull()
    {
        var kinds = new List<bool>();
        var commit = new GroupCommit(full => { lock (kinds) { kinds.Add(full); } });
        await commit.FlushAsync();
        commit.MarkMetadataDirty();
        await commit.FlushAsync();
        await commit.FlushAsync();
        Assert.Equal([false, true, false], kinds);
    }

    [Fact]
    public async Task AFailedSyncFailsItsWaitersAndEveryLaterFlush()
    {
        int calls = 0;
        var commit = new GroupCommit(_ =>
        {
            Interlocked.Increment(ref calls);
            throw new IOException("EIO from the disk");
        });
        var first = await Assert.ThrowsAsync<IOException>(async () => await commit.FlushAsync());
        Assert.Equal("EIO from the disk", first.Message);
        await Assert.ThrowsAsync<IOException>(async () => await commit.FlushAsync());
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task PooledWaitersAreReusedSafely()
    {
        var commit = new GroupCommit(_ => { });
        for (int round = 0; round < 200; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => commit.FlushAsync().AsTask()));
        }
        Assert.Equal(1600, commit.RequestCount);
        Assert.InRange(commit.SyncCount, 200, 1600);
    }

    [Fact]
    public async Task ConcurrentFuaWritesShareSyncsAndAllLandOnTheVolume()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("fua", 16L << 20, blockSize: 4096);
        using ThinVolume volume = catalog.Open("fua");
        const int writers = 16;
        const int writesEach = 20;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            byte[] block = new byte[4096];
            for (int i = 0; i < writesEach; i++)
            {
                block.AsSpan().Fill((byte)(w + 1));
                await volume.WriteAsync(w * writesEach + i, block, WriteFlags.Fua);
            }
        })));

        Assert.Equal(writers * writesEach, volume.FlushRequestCount);
        Assert.InRange(volume.SyncCount, 1, writers * writesEach);
        byte[] back = new byte[4096];
        for (int w = 0; w < writers; w++)
        {
            await volume.ReadAsync(w * writesEach + writesEach - 1, back);
            Assert.All(back, b => Assert.Equal(w + 1, b));
        }
    }
}
