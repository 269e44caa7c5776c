namespace Tessera.Scsi.Tests;

/// <summary>
/// docs/cluster-context.md hook 3: with an <see cref="IDistributedTaskSet"/> context, PREEMPT AND ABORT,
/// LOGICAL UNIT RESET and CLEAR TASK SET commit an abort order for the other nodes and still abort this
/// node's tasks; orders from other nodes reach the LU's task set through the delegate it binds.
/// </summary>
public class DistributedTaskSetTests
{
    private static readonly ItNexus A = Harness.NexusA, B = Harness.NexusB, C = Pr.NexusC;

    /// <summary>An I_T nexus of another node (relative target port 3): known to the context, never to this task set.</summary>
    private static readonly ItNexus Remote = new("iqn.1994-05.com.redhat:r", 0x23d000000009, 3, 3);

    private static async Task<(FakeContextHarness H, FakeDistributedContext Context)> StartAsync()
    {
        var context = new FakeDistributedContext();
        var h = new FakeContextHarness(context);
        await h.AttachAsync(A);
        await h.AttachAsync(B);
        await h.AttachAsync(C);
        await context.ChangeAsync(s => (LuStateChanges.AttachNexus(s, Remote.Key), true));
        return (h, context);
    }

    [Fact]
    public async Task TheLogicalUnitBindsItsTaskSetAndAnOrderEndsTheMatchingTasksFirst()
    {
        var (h, context) = await StartAsync();
        Assert.NotNull(context.LocalTaskSet);
        var (a, ea) = h.StartBlockedRead(A, 1);
        var (b, eb) = h.StartBlockedRead(B, 2);

        // PREEMPT AND ABORT of A's registration, committed through another node.
        var order = new TaskAbortOrder(TaskAbortScope.TasksOfRegistrations, Remote.Key) { Registrations = [new PersistentRegistration(A.Key, 0xA)] };
        var aborting = context.LocalTaskSet!(order).AsTask();
        Assert.True(a.IsAborted);
        Assert.False(b.IsAborted);
        Assert.False(aborting.IsCompleted); // A's read is still inside the store
        h.Store.ReadGate!.SetResult();
        Assert.Equal([A.Key], await aborting);
        await Task.WhenAll(ea, eb);
        Assert.True(ea.IsCompletedSuccessfully);
        Assert.Equal(ScsiStatus.Good, b.Status);

        // LOGICAL UNIT RESET through another node: everything here.
        h.Store.ReadGate = null;
        var (c, ec) = h.StartBlockedRead(C, 3);
        var all = context.LocalTaskSet!(new TaskAbortOrder(TaskAbortScope.AllTasks, Remote.Key)).AsTask();
        h.Store.ReadGate!.SetResult();
        Assert.Equal([C.Key], await all);
        Assert.True(c.IsAborted);
        await ec;
        Assert.Empty(await context.LocalTaskSet!(new TaskAbortOrder(TaskAbortScope.AllTasks, Remote.Key)));
    }

    [Fact]
    public async Task AnOrderSparesTheRequestersOwnTasks()
    {
        var (h, context) = await StartAsync();
        var (a, ea) = h.StartBlockedRead(A, 1);
        var order = new TaskAbortOrder(TaskAbortScope.TasksOfRegistrations, A.Key) { Registrations = [new PersistentRegistration(A.Key, 0xA)] };
        Assert.Empty(await context.LocalTaskSet!(order));
        Assert.False(a.IsAborted);
        h.Store.ReadGate!.SetResult();
        await ea;
    }

    [Fact]
    public async Task PreemptAndAbortCommitsAnOrderForThePreemptedRegistrationsAndAbortsLocalTasks()
    {
        var (h, context) = await StartAsync();
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, Pr.OutCdb(Pr.Register), dataOut: Pr.Basic(0, 0xA))).Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(C, Pr.OutCdb(Pr.Register), dataOut: Pr.Basic(0, 0xC))).Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(A, Pr.OutCdb(Pr.Reserve, Pr.WE), dataOut: Pr.Basic(0xA))).Status);
        Assert.Empty(context.Orders); // only PREEMPT AND ABORT orders aborts
        var (a, ea) = h.StartBlockedRead(A, 1);
        var (b, eb) = h.StartBlockedRead(B, 2);

        var pa = h.RunAsync(C, Pr.OutCdb(Pr.PreemptAndAbort, Pr.WE), dataOut: Pr.Basic(0xC, 0xA));
        Assert.True(a.IsAborted);
        Assert.False(b.IsAborted);
        Assert.False(pa.IsCompleted); // completes after A's aborted read has ended
        h.Store.ReadGate!.SetResult();
        Assert.Equal(ScsiStatus.Good, (await pa).Status);
        await Task.WhenAll(ea, eb);

        var order = Assert.Single(context.Orders);
        Assert.Equal(TaskAbortScope.TasksOfRegistrations, order.Scope);
        Assert.Equal(C.Key, order.RequesterNexusKey);
        Assert.Equal(A.Key, Assert.Single(order.Registrations).NexusKey);
        h.Store.ReadGate = null;
        Assert.Equal(0x2A05, Sense.Of(await h.RunAsync(A, Cdb.TestUnitReady())).AscAscq);

        // A PREEMPT AND ABORT that fails (no registration has that key: RESERVATION CONFLICT) orders nothing.
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(C, Pr.OutCdb(Pr.PreemptAndAbort, Pr.WE), dataOut: Pr.Basic(0xC, 0xEEEE))).Status);
        Assert.Single(context.Orders);
    }

    [Fact]
    public async Task LogicalUnitResetCommitsTheResetWithAnOrderForEveryTask()
    {
        var (h, context) = await StartAsync();
        var (a, ea) = h.StartBlockedRead(A, 1);
        var tmf = h.Target.ManageAsync(B, TaskManagementFunction.LogicalUnitReset, 0, 0).AsTask();
        Assert.True(a.IsAborted);
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await ea;

        var order = Assert.Single(context.Orders);
        Assert.Equal(TaskAbortScope.AllTasks, order.Scope);
        Assert.Equal(B.Key, order.RequesterNexusKey);
        h.Store.ReadGate = null;
        // Committed in the same change: every nexus, this node's and the other nodes', has the reset condition.
        Assert.All(new[] { A, B, C, Remote }, n => Assert.Equal(new[] { UnitAttention.LogicalUnitReset }, context.Current.UnitAttentions[n.Key].ToArray()));
    }

    [Fact]
    public async Task ClearTaskSetTellsTheNexusesThatLostTasksOnAnyNode()
    {
        var (h, context) = await StartAsync();
        context.RemoteAborted = [Remote.Key, A.Key]; // the other nodes' report (A's own key is never told)
        var (b, eb) = h.StartBlockedRead(B, 2);
        var tmf = h.Target.ManageAsync(A, TaskManagementFunction.ClearTaskSet, 0, 0).AsTask();
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await eb;
        Assert.True(b.IsAborted);

        Assert.Equal(TaskAbortScope.AllTasks, Assert.Single(context.Orders).Scope);
        var cleared = context.Current.UnitAttentions.Where(kv => kv.Value.Contains(UnitAttention.CommandsClearedByAnotherInitiator)).Select(kv => kv.Key).Order();
        Assert.Equal(new[] { B.Key, Remote.Key }.Order(), cleared);
    }
}
