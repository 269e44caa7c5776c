namespace Tessera.Scsi.Tests;

/// <summary>
/// docs/cluster-context.md hook 1: a context that cannot commit (store unreachable, node fenced) makes the
/// command NOT READY, ASYMMETRIC ACCESS STATE TRANSITION and the TMF FUNCTION REJECTED; a port whose group
/// is unavailable answers NOT READY, TARGET PORT IN UNAVAILABLE STATE before any unit attention.
/// </summary>
public class ContextUnavailableTests
{
    private static readonly ItNexus A = Harness.NexusA;

    [Fact]
    public async Task AContextChangeThatCannotCommitIsNotReadyAsymmetricAccessStateTransition()
    {
        var h = new FakeContextHarness(new FakeContext());
        await h.AttachAsync(A);
        h.Context.Unavailable = true;

        var t = await h.RunAsync(A, Pr.OutCdb(Pr.Register), dataOut: Pr.Basic(0, 0x1234));
        var s = Sense.Of(t);
        Assert.Equal((byte)SenseKey.NotReady, s.Key);
        Assert.Equal(Asc.AsymmetricAccessStateTransition, s.AscAscq);
        Assert.True(h.Context.Current.PersistentReservations.IsEmpty);

        // Commands that only read the context go on with the applied copy.
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512])).Status);
    }

    [Fact]
    public async Task AUnitAttentionThatCannotBeConsumedIsNotReadyAsymmetricAccessStateTransition()
    {
        var h = new FakeContextHarness(new FakeContext());
        await h.Target.NexusAttachedAsync(A); // POWER ON pending
        h.Context.Unavailable = true;
        var s = Sense.Of(await h.RunAsync(A, Cdb.TestUnitReady()));
        Assert.Equal((byte)SenseKey.NotReady, s.Key);
        Assert.Equal(Asc.AsymmetricAccessStateTransition, s.AscAscq);
        h.Context.Unavailable = false;
        Assert.Equal(0x2900, Sense.Of(await h.RunAsync(A, Cdb.TestUnitReady())).AscAscq); // still pending, reported once reachable
    }

    [Theory]
    [InlineData(TaskManagementFunction.LogicalUnitReset)]
    [InlineData(TaskManagementFunction.ClearTaskSet)]
    [InlineData(TaskManagementFunction.TargetWarmReset)]
    [InlineData(TaskManagementFunction.TargetColdReset)]
    public async Task ATaskManagementFunctionWhoseChangeCannotCommitIsRejected(TaskManagementFunction function)
    {
        var h = new FakeContextHarness(new FakeDistributedContext());
        await h.AttachAsync(A);
        await h.AttachAsync(Harness.NexusB);
        h.Context.Unavailable = true;
        ((FakeDistributedContext)h.Context).RemoteAborted = [Harness.NexusB.Key]; // CLEAR TASK SET then has a UA to commit
        Assert.Equal(TaskManagementResponse.FunctionRejected, await h.Target.ManageAsync(A, function, 0, 0));
        // ABORT TASK SET changes no context: it still completes.
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(A, TaskManagementFunction.AbortTaskSet, 0, 0));
    }

    [Fact]
    public async Task AFencedNodesPortAnswersTargetPortUnavailableBeforeAnyUnitAttention()
    {
        var h = new FakeContextHarness(new FakeContext());
        await h.Target.NexusAttachedAsync(A); // POWER ON pending for A
        // What ClusterLuContext.Fence does: changes refused, the applied copy marks the own group unavailable.
        h.Context.Unavailable = true;
        h.Context.Override = h.Context.Current with { Alua = h.Context.Current.Alua.MarkUnavailable(A.TargetPortGroupId) };
        int changes = h.Context.Changes;

        var s = Sense.Of(await h.RunAsync(A, Cdb.TestUnitReady()));
        Assert.Equal((byte)SenseKey.NotReady, s.Key);
        Assert.Equal(AluaAccess.NotAccessibleUnavailable, s.AscAscq);
        Assert.Equal(AluaAccess.NotAccessibleUnavailable, Sense.Of(await h.RunAsync(A, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512])).AscAscq);
        Assert.Equal(0, h.Store.Writes);

        // Path discovery still answers, without reporting (and so without trying to consume) the unit attention.
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, SpcCdb.ReportTargetPortGroups(), dataIn: 1024)).Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, Cdb.Inquiry(), dataIn: 96)).Status);
        Assert.Equal(changes, h.Context.Changes);
    }
}
