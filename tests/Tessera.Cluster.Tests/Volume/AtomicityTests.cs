using System.Runtime.InteropServices;
using Tessera.Cluster.Volume;
using Tessera.Scsi;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// The Atomicity show item: two portals write overlapping ranges that cross sub-unit
/// boundaries (so several owners take part), concurrently, thousands of times, with owner parts and
/// token messages reordered by seeded jitter. Every write stamps its id into every word of every
/// block it writes. After each round: every node reads identical content, no block is torn, and for
/// every pair of overlapping writes the shared blocks that still carry one of the two ids all carry
/// the same one (the later write won everywhere, or a third write covered them).
/// </summary>
public sealed class AtomicityTests(ITestOutputHelper output)
{
    private const int WritesPerPortalPerRound = 6;

    [Theory]
    [InlineData(42, 7, Wire.Direct)]
    [InlineData(42, 7, Wire.Tcp)]
    [InlineData(43, 8, Wire.Direct)]
    [InlineData(43, 8, Wire.Tcp)]
    public async Task ConcurrentOverlappingMultiOwnerWritesHaveOneWinnerPerPair(int jitterSeed, int seed, Wire wire)
    {
        const int Rounds = 500;
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 1 << 20, jitterSeed: jitterSeed);
        (int rounds, int writes, int pairsChecked, string? violation) = await RunAsync(fixture, seed, Rounds);
        Assert.Null(violation);
        Assert.Equal(Rounds * 2 * WritesPerPortalPerRound, writes);
        output.WriteLine($"{rounds} rounds, {writes} writes, {pairsChecked} overlapping pairs checked, {fixture.View(0).OrderedRequests + fixture.View(3).OrderedRequests} token-ordered requests, {fixture.Volume.TokenMessagesSent} token/final messages");

        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
        for (int node = 0; node < fixture.Layout.NodeCount; node++)
        {
            Assert.Equal(0, fixture.Volume.Owners[node].Ordering.PendingParts);
            Assert.Equal(0, fixture.Volume.Owners[node].Locks.ActiveStripes);
            Assert.Null(fixture.Volume.Owners[node].Ordering.LastError);
        }

        fixture.AssertNothingPendingOnTheWire();
    }

    /// <summary>The checker is not vacuous: with token ordering switched off, owners apply parts in arrival order and a pair of writes ends up with two winners.</summary>
    [Theory]
    [InlineData(Wire.Direct)]
    [InlineData(Wire.Tcp)]
    public async Task WithoutTokenOrderingTheCheckFindsAPairWithTwoWinners(Wire wire)
    {
        await using var fixture = ClusterFixture.Create(wire: wire, sizeBytes: 1 << 20, jitterSeed: 43);
        fixture.View(0).UnorderedForTesting = true;
        fixture.View(3).UnorderedForTesting = true;
        (int rounds, _, _, string? violation) = await RunAsync(fixture, seed: 8, rounds: 400);
        Assert.NotNull(violation);
        output.WriteLine($"violation after {rounds} rounds: {violation}");
    }

    /// <summary>Runs rounds until the first violation (returned) or the end.</summary>
    private static async Task<(int Rounds, int Writes, int Pairs, string? Violation)> RunAsync(ClusterFixture fixture, int seed, int rounds)
    {
        VolumeLayout layout = fixture.Layout;
        int blockSize = layout.BlockSize;
        long unitBlocks = layout.StripesPerSubUnit * layout.StripeDataSize / blockSize;

        // Region: sub-units 2..6, so requests span 2–3 owners and owner sets overlap partly.
        long regionStart = 2 * unitBlocks, regionEnd = 7 * unitBlocks;
        int regionBlocks = (int)(regionEnd - regionStart);
        var random = new Random(seed);
        int nextId = 1, writes = 0, pairs = 0;
        DistributedVolume[] portals = [fixture.View(0), fixture.View(3)];
        byte[] region = new byte[regionBlocks * blockSize];
        byte[] other = new byte[region.Length];
        for (int round = 1; round <= rounds; round++)
        {
            var batch = new List<(int Id, long Lba, int Count)>();
            var tasks = new List<Task>();
            foreach (DistributedVolume portal in portals)
            {
                for (int i = 0; i < WritesPerPortalPerRound; i++)
                {
                    // Cross at least one sub-unit boundary: start before boundary b, end after it.
                    long boundary = regionStart + ((1 + random.Next(4)) * unitBlocks);
                    long lba = boundary - 1 - random.NextInt64(unitBlocks / 2);
                    long end = boundary + 1 + random.NextInt64(unitBlocks + (unitBlocks / 2));
                    end = Math.Min(end, regionEnd);
                    int count = (int)(end - lba);
                    int id = nextId++;
                    batch.Add((id, lba, count));
                    byte[] data = new byte[count * blockSize];
                    MemoryMarshal.Cast<byte, int>(data.AsSpan()).Fill(id);
                    tasks.Add(Task.Run(async () => await portal.WriteAsync(lba, data, WriteFlags.None)));
                }
            }

            await Task.WhenAll(tasks);
            writes += batch.Count;

            // Every node reads the same bytes.
            await fixture.View(0).ReadAsync(regionStart, region);
            for (int node = 1; node < layout.NodeCount; node++)
            {
                await fixture.View(node).ReadAsync(regionStart, other);
                int common = region.AsSpan().CommonPrefixLength(other);
                if (common < region.Length)
                {
                    return (round, writes, pairs, $"round {round}: node {node} differs from node 0 at region byte {common}");
                }
            }

            int[] winner = new int[regionBlocks];
            for (int b = 0; b < regionBlocks; b++)
            {
                ReadOnlySpan<int> words = MemoryMarshal.Cast<byte, int>(region.AsSpan(b * blockSize, blockSize));
                if (words.IndexOfAnyExcept(words[0]) >= 0)
                {
                    return (round, writes, pairs, $"round {round}: block {regionStart + b} is torn");
                }

                winner[b] = words[0];
            }

            for (int i = 0; i < batch.Count; i++)
            {
                for (int j = i + 1; j < batch.Count; j++)
                {
                    (int a, long aLba, int aCount) = batch[i];
                    (int c, long cLba, int cCount) = batch[j];
                    long from = Math.Max(aLba, cLba), to = Math.Min(aLba + aCount, cLba + cCount);
                    if (from >= to)
                    {
                        continue;
                    }

                    pairs++;
                    bool sawA = false, sawC = false;
                    for (long lba = from; lba < to; lba++)
                    {
                        int w = winner[lba - regionStart];
                        sawA |= w == a;
                        sawC |= w == c;
                    }

                    if (sawA && sawC)
                    {
                        return (round, writes, pairs, $"round {round}: writes {a} [{aLba}+{aCount}] and {c} [{cLba}+{cCount}] both win some shared blocks");
                    }
                }
            }
        }

        return (rounds, writes, pairs, null);
    }
}
