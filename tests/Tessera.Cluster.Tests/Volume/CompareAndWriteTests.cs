using System.Buffers.Binary;
using Tessera.Cluster.Volume;
using Tessera.Scsi;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Volume;

public sealed class CompareAndWriteTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task SingleOwnerCompareAndWriteWritesOnlyOnMatchAndReportsTheFirstMiscompare(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        DistributedVolume view = fixture.View(1);
        byte[] original = Pattern(4 * 512, 1);
        await view.WriteAsync(40, original, WriteFlags.None);

        byte[] next = Pattern(4 * 512, 2);
        Assert.Equal(-1, await view.CompareAndWriteAsync(40, original, next, WriteFlags.Fua));
        Assert.Equal(next, await ReadAsync(fixture.View(4), 40, 4));

        byte[] wrong = (byte[])next.Clone();
        wrong[1234] ^= 0xFF;
        Assert.Equal(1234, await view.CompareAndWriteAsync(40, wrong, original, WriteFlags.None));
        Assert.Equal(next, await ReadAsync(fixture.View(5), 40, 4));
    }

    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task CompareAndWriteAcrossTwoOwnersIsAllOrNothing(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire);
        long boundary = UnitBlocks(fixture);
        long lba = boundary - 2;
        byte[] original = Pattern(4 * 512, 3);
        await fixture.View(0).WriteAsync(lba, original, WriteFlags.None);
        Assert.NotEqual(fixture.Volume.Ownership.Owner(0), fixture.Volume.Ownership.Owner(1));

        // Miscompare in the second owner's half: nothing is written on either side.
        byte[] wrong = (byte[])original.Clone();
        wrong[3 * 512 + 7] ^= 1;
        byte[] next = Pattern(4 * 512, 4);
        Assert.Equal((3 * 512) + 7, await fixture.View(2).CompareAndWriteAsync(lba, wrong, next, WriteFlags.None));
        Assert.Equal(original, await ReadAsync(fixture.View(3), lba, 4));

        Assert.Equal(-1, await fixture.View(2).CompareAndWriteAsync(lba, original, next, WriteFlags.None));
        Assert.Equal(next, await ReadAsync(fixture.View(3), lba, 4));
        Assert.True(fixture.View(2).OrderedRequests >= 2);
        (List<long> bad, _) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        fixture.AssertNothingPendingOnTheWire();
    }

    /// <summary>
    /// A two-block counter straddling a sub-unit boundary (two owners), incremented by CAW from four
    /// portals while plain writers hammer the blocks around it, with reordering jitter: no increment
    /// is lost, and the two halves never disagree.
    /// </summary>
    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task ConcurrentCompareAndWriteIncrementsAcrossOwnersLoseNothing(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, jitterSeed: 11);
        long counterLba = UnitBlocks(fixture) - 1;
        const int Workers = 4, Increments = 60;
        await fixture.View(0).WriteAsync(counterLba, Counter(0), WriteFlags.None);
        using var stop = new CancellationTokenSource();
        int retries = 0;

        async Task IncrementAsync(int worker)
        {
            DistributedVolume view = fixture.View(worker);
            for (int i = 0; i < Increments; i++)
            {
                while (true)
                {
                    byte[] current = await ReadAsync(view, counterLba, 2);
                    long value = BinaryPrimitives.ReadInt64LittleEndian(current);
                    if (await view.CompareAndWriteAsync(counterLba, current, Counter(value + 1), WriteFlags.None) < 0)
                    {
                        break;
                    }

                    Interlocked.Increment(ref retries);
                }
            }
        }

        async Task HammerAsync(int node)
        {
            var random = new Random(node);
            DistributedVolume view = fixture.View(node);
            while (!stop.IsCancellationRequested)
            {
                // Around the counter but never on it: same stripes, same owners.
                long lba = random.Next(2) == 0 ? counterLba - 1 - random.Next(20) : counterLba + 2 + random.Next(20);
                await view.WriteAsync(lba, Pattern(512, random.Next()), WriteFlags.None);
            }
        }

        Task hammers = Task.WhenAll(Task.Run(() => HammerAsync(4)), Task.Run(() => HammerAsync(5)));
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => IncrementAsync(w))));
        stop.Cancel();
        await hammers;

        byte[] final = await ReadAsync(fixture.View(5), counterLba, 2);
        Assert.Equal(Counter(Workers * Increments), final);
        output.WriteLine($"{Workers * Increments} increments, {retries} miscompare retries");
        (List<long> bad, _) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        fixture.AssertNothingPendingOnTheWire();
    }

    private static long UnitBlocks(ClusterFixture fixture) =>
        fixture.Layout.StripesPerSubUnit * fixture.Layout.StripeDataSize / fixture.Layout.BlockSize;

    private static byte[] Counter(long value)
    {
        byte[] blocks = new byte[1024];
        BinaryPrimitives.WriteInt64LittleEndian(blocks, value);
        BinaryPrimitives.WriteInt64LittleEndian(blocks.AsSpan(512), value);
        return blocks;
    }

    private static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static async Task<byte[]> ReadAsync(DistributedVolume view, long lba, int blocks)
    {
        byte[] data = new byte[blocks * view.BlockSize];
        await view.ReadAsync(lba, data);
        return data;
    }
}
