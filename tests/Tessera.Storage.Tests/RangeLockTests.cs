namespace Tessera.Storage.Tests;

public class RangeLockTests
{
    [Fact]
    public void StripesCoverEveryRegionOfTheRange()
    {
        var locks = new RangeLock(regionShift: 20);
        Assert.Equal(1UL, locks.StripesFor(0, 4096));
        Assert.Equal(1UL, locks.StripesFor((1L << 20) - 4096, 4096));
        Assert.Equal(0b11UL, locks.StripesFor((1L << 20) - 512, 1024));
        Assert.Equal(1UL << 5, locks.StripesFor(69L << 20, 4096));
        Assert.Equal((1UL << 63) | 1UL, locks.StripesFor((63L << 20) + 10, 1L << 20));
        Assert.Equal(ulong.MaxValue, locks.StripesFor(0, 64L << 20));
        Assert.Equal(ulong.MaxValue, locks.StripesFor(12345, 1L << 40));
    }

    [Fact]
    public async Task SharedHoldersCoexistAndExclusiveWaitsForThem()
    {
        var locks = new RangeLock(regionShift: 20);
        ulong a = locks.EnterShared(0, 4096);
        ulong b = locks.EnterShared(4096, 4096);
        var exclusive = Task.Run(() => locks.ExitExclusive(locks.EnterExclusive(0, 512)));
        await Task.WhenAny(exclusive, Task.Delay(100));
        Assert.False(exclusive.IsCompleted);
        locks.ExitShared(a);
        await Task.WhenAny(exclusive, Task.Delay(100));
        Assert.False(exclusive.IsCompleted);
        locks.ExitShared(b);
        Assert.Same(exclusive, await Task.WhenAny(exclusive, Task.Delay(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task ManyThreadsOnOverlappingMultiStripeRangesNeverDeadlockOrOverlapExclusively()
    {
        var locks = new RangeLock(regionShift: 12);
        int inside = 0;
        int violations = 0;
        var threads = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            for (int i = 0; i < 20_000; i++)
            {
                long offset = random.Next(0, 1 << 20);
                long length = random.Next(1, 64 << 12);
                if (random.Next(4) == 0)
                {
                    ulong s = locks.EnterExclusive(0, length + offset);
                    if (Interlocked.Increment(ref inside) != 1)
                    {
                        Interlocked.Increment(ref violations);
                    }
                    Interlocked.Decrement(ref inside);
                    locks.ExitExclusive(s);
                }
                else
                {
                    ulong s = locks.EnterShared(offset, length);
                    locks.ExitShared(s);
                }
            }
        })).ToArray();
        Task all = Task.WhenAll(threads);
        Assert.Same(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(2))));
        Assert.Equal(0, violations);
    }
}
