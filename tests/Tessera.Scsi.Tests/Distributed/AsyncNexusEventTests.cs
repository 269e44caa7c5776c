namespace Tessera.Scsi.Tests;

/// <summary>docs/cluster-context.md hook 2: I_T nexus events complete when the context change does, without blocking.</summary>
public class AsyncNexusEventTests
{
    private static readonly ItNexus A = Harness.NexusA;

    [Fact]
    public async Task NexusAttachedAsyncCompletesOnlyOnceTheContextHasCommittedIt()
    {
        var context = new FakeContext { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var h = new FakeContextHarness(context);
        var attach = h.Target.NexusAttachedAsync(A).AsTask();
        Assert.False(attach.IsCompleted); // the commit is pending: the caller's thread is free meanwhile
        Assert.DoesNotContain(A.Key, context.Current.Nexuses);
        context.Gate.SetResult();
        await attach;
        Assert.Contains(A.Key, context.Current.Nexuses);
        Assert.Equal(0x2900, Sense.Of(await h.RunAsync(A, Cdb.TestUnitReady())).AscAscq);
    }

    [Fact]
    public async Task NexusAttachedAsyncChangesEveryLogicalUnitAtOnce()
    {
        var c0 = new FakeContext();
        var c1 = new FakeContext();
        var h = new FakeContextHarness(c0);
        h.Target.AddLogicalUnit(new LogicalUnit(1, Guid.NewGuid(), new MemoryBlockStore(64), c1));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c0.Gate = gate;
        c1.Gate = gate;
        int before0 = c0.Changes, before1 = c1.Changes;
        var attach = h.Target.NexusAttachedAsync(A).AsTask();
        Assert.Equal(before0 + 1, c0.Changes); // both changes are under way before either completes
        Assert.Equal(before1 + 1, c1.Changes);
        Assert.False(attach.IsCompleted);
        gate.SetResult();
        await attach;
        Assert.Contains(A.Key, c0.Current.Nexuses);
        Assert.Contains(A.Key, c1.Current.Nexuses);
    }

    [Fact]
    public async Task NexusLostAsyncAbortsItsTasksAndReleasesItsReservation()
    {
        var h = new FakeContextHarness(new FakeContext());
        await h.AttachAsync(A);
        await h.AttachAsync(Harness.NexusB);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, Cdb.Reserve6())).Status);
        var (mine, e1) = h.StartBlockedRead(A, 1);

        await h.Target.NexusLostAsync(A);
        Assert.True(mine.IsAborted);
        Assert.Null(h.Context.Current.Scsi2Reservation);
        Assert.DoesNotContain(A.Key, h.Context.Current.Nexuses);
        Assert.Equal([UnitAttention.ItNexusLoss], h.Context.Current.UnitAttentions[A.Key].AsEnumerable());
        h.Store.ReadGate!.SetResult();
        await e1;
        h.Store.ReadGate = null;
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Harness.NexusB, Cdb.Block(0x28, 0, 1), dataIn: 512)).Status); // no reservation left
    }

    [Fact]
    public async Task AContextThatCannotCommitFailsTheNexusEvent()
    {
        var h = new FakeContextHarness(new FakeContext { Unavailable = true });
        await Assert.ThrowsAsync<LuContextUnavailableException>(() => h.Target.NexusAttachedAsync(A).AsTask());
    }
}
