using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// Small writes queued on one stripe at its owner are applied as one batch (<see cref="StripeWriteBatch"/>):
/// the data afterwards is what the writes one by one in arrival order would leave, parity checks, and a
/// request queued in between is never overtaken.
/// </summary>
public sealed class StripeWriteBatchTests
{
    [Fact]
    public async Task WritesQueuedOnOneStripeJoinOneBatchAndTheLaterWinsWhereTheyOverlap()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 256 << 10);
        VolumeLayout layout = fixture.Layout;
        const long SubUnit = 1;
        long stripe = SubUnit * layout.StripesPerSubUnit;
        long stripeStart = stripe * layout.StripeDataSize;
        SubUnitOwner owner = fixture.Volume.Owners[fixture.Volume.Ownership.Owner(SubUnit).Value];

        // The stripe is busy (a write in progress), so what follows queues.
        StripeLockGrant busy = owner.Locks.Enqueue([stripe], 1);
        Assert.True(busy.IsGranted);

        int chunk = layout.ChunkSize;
        (int Start, int Length, byte Fill)[] writes =
        [
            (0, 4096, 0xA1),
            (2048, 4096, 0xB2),            // overlaps the first: arrived later, so it wins there
            (6144, 1024, 0xC3),            // touches the second: the same run
            ((3 * chunk) + 512, 512, 0xD4), // another column: a run of its own
        ];
        var pending = writes.Select(w => owner.ExecuteAsync(Request(fixture, SubUnit, stripeStart + w.Start, w.Length, w.Fill)).AsTask()).ToList();
        Assert.DoesNotContain(pending, t => t.IsCompleted);
        Assert.Equal(writes.Length - 1, owner.CoalescedWrites);

        owner.Locks.Release(busy);
        await Task.WhenAll(pending);

        byte[] expected = new byte[layout.StripeDataSize];
        foreach ((int start, int length, byte fill) in writes)
        {
            expected.AsSpan(start, length).Fill(fill);
        }

        for (int node = 0; node < layout.NodeCount; node++)
        {
            byte[] back = new byte[layout.StripeDataSize];
            await fixture.View(node).ReadAsync(stripeStart / layout.BlockSize, back);
            Assert.Equal(expected, back);
        }

        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
        Assert.Equal(0, owner.Locks.ActiveStripes);
    }

    [Fact]
    public async Task ARequestQueuedAfterABatchClosesIt()
    {
        var table = new StripeLockTable();
        StripeLockGrant busy = table.Enqueue([5], 1);
        var first = new OwnerRequest();
        StripeWriteBatch batch = table.EnqueueWrite([5], first, out Task<int>? firstJoined);
        Assert.Null(firstJoined); // it leads
        StripeWriteBatch same = table.EnqueueWrite([5], new OwnerRequest(), out Task<int>? secondJoined);
        Assert.Same(batch, same);
        Assert.NotNull(secondJoined);

        StripeLockGrant other = table.Enqueue([5, 6], 2); // e.g. a write over two stripes
        StripeWriteBatch later = table.EnqueueWrite([5], new OwnerRequest(), out Task<int>? thirdJoined);
        Assert.NotSame(batch, later);
        Assert.Null(thirdJoined); // joining the first batch would overtake the two-stripe write

        table.Release(busy);
        Assert.True(batch.Grant.IsGranted);
        table.Seal(batch);
        Assert.Equal(2, batch.Members.Count);
        Assert.False(other.IsGranted);
        batch.Complete(null);
        Assert.Equal(-1, await secondJoined!);
        table.Release(batch);
        Assert.True(other.IsGranted);
        Assert.False(later.Grant.IsGranted);
        table.Release(other);
        Assert.True(later.Grant.IsGranted);
        table.Seal(later);
        table.Release(later);
        Assert.Equal(0, table.ActiveStripes);
    }

    [Fact]
    public async Task ABatchThatHasBegunTakesNoOneAndAFailureReachesEveryMember()
    {
        var table = new StripeLockTable();
        StripeWriteBatch batch = table.EnqueueWrite([9], new OwnerRequest(), out _);
        Assert.True(batch.Grant.IsGranted); // nothing ahead
        StripeWriteBatch joinedBeforeSeal = table.EnqueueWrite([9], new OwnerRequest(), out Task<int>? member);
        Assert.Same(batch, joinedBeforeSeal);
        table.Seal(batch);
        StripeWriteBatch next = table.EnqueueWrite([9], new OwnerRequest(), out Task<int>? none);
        Assert.NotSame(batch, next);
        Assert.Null(none);

        batch.Complete(new IOException("node out"));
        await Assert.ThrowsAsync<IOException>(() => member!);
        table.Release(batch);
        Assert.True(next.Grant.IsGranted);
        table.Seal(next);
        table.Release(next);
        Assert.Equal(0, table.ActiveStripes);
    }

    /// <summary>
    /// Sequential small writes from many writers at once through one portal, over loopback TCP so that
    /// they queue at the owners: batches form, every block reads back as written from every node, and
    /// every stripe's parity checks.
    /// </summary>
    [Fact]
    public async Task ConcurrentSequentialSmallWritesCoalesceAndReadBackExactly()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 1 << 20, wire: Wire.Tcp);
        VolumeLayout layout = fixture.Layout;
        const int WriteBytes = 1024, Writes = 512;
        byte[] expected = new byte[Writes * WriteBytes];
        new Random(5).NextBytes(expected);
        DistributedVolume portal = fixture.View(2);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            for (int i = writer; i < Writes; i += 32)
            {
                await portal.WriteAsync((long)i * WriteBytes / layout.BlockSize, expected.AsMemory(i * WriteBytes, WriteBytes), WriteFlags.None);
            }
        })));

        Assert.True(fixture.Volume.Owners.Sum(o => o.CoalescedWrites) > 0, "no write joined a batch");
        for (int node = 0; node < layout.NodeCount; node++)
        {
            byte[] back = new byte[expected.Length];
            await fixture.View(node).ReadAsync(0, back);
            Assert.Equal(expected, back);
            Assert.Equal(0, fixture.Volume.Owners[node].Locks.ActiveStripes);
        }

        (List<long> bad, long skipped) = await fixture.Volume.ScrubAsync();
        Assert.Empty(bad);
        Assert.Equal(0, skipped);
    }

    private static OwnerRequest Request(ClusterFixture fixture, long subUnit, long offset, int length, byte fill)
    {
        byte[] data = new byte[length];
        data.AsSpan().Fill(fill);
        return new OwnerRequest
        {
            Operation = OwnerOperation.Write,
            Volume = fixture.Layout.VolumeId,
            Origin = new NodeId(0),
            Segments = [new OwnerSegment(offset, length, 0, subUnit, fixture.Volume.Ownership.Epoch(subUnit))],
            Data = data,
        };
    }
}
