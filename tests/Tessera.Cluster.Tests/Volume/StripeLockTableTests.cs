using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Volume;

public sealed class StripeLockTableTests
{
    [Fact]
    public void RequestsSharingAStripeRunInEnqueueOrderAndDisjointOnesAtOnce()
    {
        var table = new StripeLockTable();
        StripeLockGrant a = table.Enqueue([1, 2], 2);
        StripeLockGrant b = table.Enqueue([2, 3], 2);
        StripeLockGrant c = table.Enqueue([3], 1);
        StripeLockGrant d = table.Enqueue([7], 1);
        Assert.True(a.IsGranted);
        Assert.False(b.IsGranted);
        Assert.False(c.IsGranted); // behind b on stripe 3, although 3 is free now: FIFO, so order is the enqueue order
        Assert.True(d.IsGranted);

        table.Release(a);
        Assert.True(b.IsGranted);
        Assert.False(c.IsGranted);
        table.Release(b);
        Assert.True(c.IsGranted);
        table.Release(c);
        table.Release(d);
        Assert.Equal(0, table.ActiveStripes);
    }

    [Fact]
    public void AWaiterOnSeveralStripesRunsOnlyWhenItHeadsAllOfThem()
    {
        var table = new StripeLockTable();
        StripeLockGrant x = table.Enqueue([1], 1);
        StripeLockGrant y = table.Enqueue([2], 1);
        StripeLockGrant z = table.Enqueue([1, 2], 2);
        table.Release(y);
        Assert.False(z.IsGranted);
        table.Release(x);
        Assert.True(z.IsGranted);
        Assert.Throws<InvalidOperationException>(() =>
        {
            StripeLockGrant w = table.Enqueue([1], 1);
            table.Release(w); // w does not hold stripe 1: z does
        });
    }

    [Fact]
    public async Task ManyConcurrentRequestsOnOverlappingStripesNeverShareAStripe()
    {
        var table = new StripeLockTable();
        int[] holders = new int[8];
        int violations = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var random = new Random(t);
            for (int i = 0; i < 500; i++)
            {
                long first = random.Next(6);
                long[] stripes = [first, first + 1 + random.Next(2)];
                StripeLockGrant grant = table.Enqueue(stripes, 2);
                await grant.WaitAsync();
                foreach (long s in stripes)
                {
                    if (Interlocked.Increment(ref holders[s]) != 1)
                    {
                        Interlocked.Increment(ref violations);
                    }
                }

                await Task.Yield();
                foreach (long s in stripes)
                {
                    Interlocked.Decrement(ref holders[s]);
                }

                table.Release(grant);
            }
        })));
        Assert.Equal(0, violations);
        Assert.Equal(0, table.ActiveStripes);
    }
}
