using System.Collections.Concurrent;
using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>
/// Tessera.Scsi's own task sets and transitions over ClusterLuContext (docs/cluster-context.md, hooks 3 and 4):
/// real LogicalUnits on several in-process nodes sharing one embedded store. A task lives on the node whose
/// port received it; PREEMPT AND ABORT, LOGICAL UNIT RESET and CLEAR TASK SET reach it from any node, and a node
/// that leaves takes its port group and its I_T nexuses with it.
/// </summary>
public sealed class ScsiClusterTaskManagementTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly ItNexus A = ScsiCluster.Nexus("iqn.2026-01.io.test:a", 0x1, node: 1);
    private static readonly ItNexus C = ScsiCluster.Nexus("iqn.2026-01.io.test:c", 0x3, node: 2);
    private static readonly ItNexus B = ScsiCluster.Nexus("iqn.2026-01.io.test:b", 0x2, node: 3);

    private static async Task AttachAsync(ScsiCluster scsi, int node, ItNexus nexus)
    {
        await scsi.Target(node).NexusAttachedAsync(nexus);
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(node, nexus), 0x29, 0x00, $"{nexus.InitiatorName}'s first command");
    }

    private static async Task<ScsiCluster> StartScsiAsync(ContextCluster cluster)
    {
        var scsi = new ScsiCluster(cluster);
        await AttachAsync(scsi, 1, A);
        await AttachAsync(scsi, 2, C);
        await AttachAsync(scsi, 3, B);
        return scsi;
    }

    /// <summary>Starts a READ that stays inside the store until the test opens the gate; completes when it is aborted.</summary>
    private static (ScsiTask Task, Task Execution, Task Aborted) StartBlockedRead(ScsiCluster scsi, int node, ItNexus nexus)
    {
        scsi.Store.ReadGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = scsi.NewTask(nexus, ScsiCluster.Read10(7), dataIn: scsi.Store.BlockSize);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        task.AbortCallback = _ => aborted.TrySetResult();
        var execution = scsi.Target(node).ExecuteAsync(task).AsTask();
        return (task, execution, aborted.Task);
    }

    [Fact]
    public async Task PreemptAndAbortThroughNode2AbortsAsCommandsOnNode1BeforeItCompletes()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var fenced = new ConcurrentBag<string>();
        cluster[2].Replicator.Fenced += fenced.Add;
        var scsi = await StartScsiAsync(cluster);
        const ulong ka = 0xA, kc = 0xC;
        ScsiCluster.AssertGood(await scsi.PersistentReserveOutAsync(1, A, ScsiCluster.Register, 0, 0, ka), "A REGISTER via node 1");
        ScsiCluster.AssertGood(await scsi.PersistentReserveOutAsync(1, A, ScsiCluster.Reserve, ScsiCluster.WriteExclusive, ka, 0), "A RESERVE via node 1");
        ScsiCluster.AssertGood(await scsi.PersistentReserveOutAsync(2, C, ScsiCluster.Register, 0, 0, kc), "C REGISTER via node 2");

        // A's READ is executing on node 1 (held in the store); A's WRITE is queued there (its data not yet in).
        var (running, execution, aborted) = StartBlockedRead(scsi, 1, A);
        await scsi.Store.ReadEntered.Task.WaitAsync(Patience);
        var queued = scsi.NewTask(A, new byte[10] { 0x2A, 0, 0, 0, 0, 7, 0, 0, 1, 0 }, dataOut: new byte[scsi.Store.BlockSize]);
        scsi.Target(1).Register(queued);
        // B's READ on node 3 is not A's: it must survive.
        var (other, otherExecution, _) = StartBlockedRead(scsi, 3, B);

        var preempt = scsi.PersistentReserveOutAsync(2, C, ScsiCluster.PreemptAndAbort, ScsiCluster.WriteExclusive, kc, ka);
        await aborted.WaitAsync(Patience);
        Assert.True(queued.IsAborted);
        Assert.False(other.IsAborted);
        Assert.False(preempt.IsCompleted); // A's aborted READ has not ended yet: PR OUT must wait for it
        scsi.Store.ReadGate!.SetResult();
        await execution;
        ScsiCluster.AssertGood(await preempt, "C PREEMPT AND ABORT via node 2");
        await otherExecution;
        ScsiCluster.AssertGood(other, "B's READ via node 3");
        Assert.Empty(fenced); // node 1 reported; nobody was fenced

        scsi.Store.ReadGate = null;
        await scsi.Target(1).ExecuteAsync(queued); // its data arrives late: it must not run
        Assert.Equal(0, scsi.Store.Writes);
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(1, A), 0x2A, 0x05, "A after PREEMPT AND ABORT via node 1");
    }

    [Fact]
    public async Task LogicalUnitResetThroughNode1AbortsTasksOnNode3AndEveryNexusSeesTheReset()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var scsi = await StartScsiAsync(cluster);
        var (running, execution, aborted) = StartBlockedRead(scsi, 3, B);
        await scsi.Store.ReadEntered.Task.WaitAsync(Patience);

        var reset = scsi.Target(1).ManageAsync(A, TaskManagementFunction.LogicalUnitReset, 0, 0).AsTask();
        await aborted.WaitAsync(Patience);
        Assert.False(reset.IsCompleted); // B's aborted READ on node 3 has not ended yet
        scsi.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await reset);
        await execution;
        Assert.True(running.IsAborted);

        scsi.Store.ReadGate = null;
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(1, A), 0x29, 0x03, "A via node 1 after LUN RESET");
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(2, C), 0x29, 0x03, "C via node 2 after LUN RESET");
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(3, B), 0x29, 0x03, "B via node 3 after LUN RESET");
    }

    [Fact]
    public async Task ClearTaskSetThroughNode2TellsOnlyTheNexusesThatLostTasksOnAnyNode()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var scsi = await StartScsiAsync(cluster);
        var (running, execution, aborted) = StartBlockedRead(scsi, 3, B);
        await scsi.Store.ReadEntered.Task.WaitAsync(Patience);

        var clear = scsi.Target(2).ManageAsync(C, TaskManagementFunction.ClearTaskSet, 0, 0).AsTask();
        await aborted.WaitAsync(Patience);
        scsi.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await clear);
        await execution;

        scsi.Store.ReadGate = null;
        ScsiCluster.AssertUnitAttention(await scsi.TestUnitReadyAsync(3, B), 0x2F, 0x00, "B via node 3 after CLEAR TASK SET");
        ScsiCluster.AssertGood(await scsi.TestUnitReadyAsync(1, A), "A via node 1 (lost no task)");
        ScsiCluster.AssertGood(await scsi.TestUnitReadyAsync(2, C), "C via node 2 (the requester)");
    }

    [Fact]
    public async Task ANodeThatLeavesIsUnavailableInEverySurvivorsReportAndItsReservationIsReleased()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var scsi = await StartScsiAsync(cluster);
        // A group the LU knows from a node 4 that died while nobody watched: the start-up sweep finds it.
        await cluster[1].Context.ChangeAsync(s => (LuStateChanges.TargetPortGroupJoined(s, 4, [4]), true));
        var handlers = new List<NodeLossHandler>();
        try
        {
            foreach (var node in cluster.Nodes)
            {
                var handler = new NodeLossHandler(node.Replicator, r => NodePorts.OfNodeIndex(ushort.Parse(r.Id[1..])));
                await handler.StartAsync();
                handlers.Add(handler);
            }

            var groups = await scsi.ReportTargetPortGroupsAsync(1, A);
            Assert.Equal(new ushort[] { 1, 2, 3, 4 }, groups.Select(g => g.Group));
            Assert.Equal(
                [AsymmetricAccessState.ActiveOptimized, AsymmetricAccessState.ActiveOptimized, AsymmetricAccessState.ActiveOptimized, AsymmetricAccessState.Unavailable],
                groups.Select(g => g.State));

            // B holds a SCSI-2 reservation through node 3: A's WRITE through node 1 conflicts.
            ScsiCluster.AssertGood(await scsi.ExecuteAsync(3, B, [0x16, 0, 0, 0, 0, 0]), "B RESERVE (6) via node 3");
            ScsiCluster.AssertStatus(ScsiStatus.ReservationConflict, await scsi.WriteAsync(1, A, 7, 0xAA), "A WRITE via node 1 while B reserves");

            // Node 3's lease lapses.
            await store.RevokeLeaseAsync(cluster[3].Registration.LeaseId);
            await WaitUntilAsync(() => cluster.Nodes.Take(2).All(n => n.Context.Current.Alua.StateOf(3) == AsymmetricAccessState.Unavailable));

            foreach (int via in new[] { 1, 2 })
            {
                var nexus = via == 1 ? A : C;
                var seen = await scsi.ReportTargetPortGroupsAsync(via, nexus);
                var third = seen.Single(g => g.Group == 3);
                Assert.Equal(AsymmetricAccessState.Unavailable, third.State);
                Assert.Equal(0x02, third.Status); // altered by implicit ALUA behaviour
                Assert.Equal(AsymmetricAccessState.ActiveOptimized, seen.Single(g => g.Group == via).State);
                var state = cluster[via].Context.Current;
                Assert.Null(state.Scsi2Reservation);
                Assert.DoesNotContain(B.Key, state.Nexuses);
                Assert.Contains(A.Key, state.Nexuses);
            }

            ScsiCluster.AssertGood(await scsi.WriteAsync(1, A, 7, 0xAA), "A WRITE via node 1 after node 3 left");
            // Node 3 itself is fenced: its port refuses.
            var refused = await scsi.TestUnitReadyAsync(3, B);
            Assert.Equal((0x2, 0x04, 0x0C), ScsiCluster.Sense(refused));
        }
        finally
        {
            foreach (var handler in handlers)
            {
                await handler.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AColdStartPowersTheLogicalUnitOnForEveryNode()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var scsi = await StartScsiAsync(cluster);
        ScsiCluster.AssertGood(await scsi.ExecuteAsync(3, B, [0x16, 0, 0, 0, 0, 0]), "B RESERVE (6) via node 3");
        ScsiCluster.AssertGood(await scsi.PersistentReserveOutAsync(3, B, ScsiCluster.Register, 0, 0, 0xB), "B REGISTER via node 3");
        Assert.Equal(1u, cluster[1].Context.Current.PersistentReservations.Generation);

        await cluster[2].Replicator.PowerOnAsync();

        foreach (var node in cluster.Nodes)
        {
            var state = node.Context.Current;
            Assert.Empty(state.Nexuses);
            Assert.Empty(state.UnitAttentions);
            Assert.Null(state.Scsi2Reservation);
            Assert.True(state.PersistentReservations.IsEmpty); // APTPL was not set
            Assert.Equal(0u, state.PersistentReservations.Generation);
        }

        // A host logging in again is told of the power on.
        await AttachAsync(scsi, 1, A);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            await Task.Delay(20);
        }
    }
}
