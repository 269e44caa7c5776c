using System.Collections.Concurrent;
using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>Cross-node task abort orders (PREEMPT AND ABORT, LOGICAL UNIT RESET, CLEAR TASK SET), cluster side.</summary>
public abstract partial class ClusterContextContract
{
    private const string NexusX = "iqn.2026-01.io.test:x,i,0x000000000001,t,0x0002";
    private const string NexusY = "iqn.2026-01.io.test:y,i,0x000000000001,t,0x0003";

    [Fact]
    public async Task AnAbortOrderEndsTheMatchingTasksOnEveryOtherNodeBeforeTheChangeCompletes()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var sets = cluster.Nodes.Select(n => Bind(n, new FakeTaskSet())).ToList();
        sets[1].Start(NexusX, 2); // X's tasks run on node 2
        sets[2].Start(NexusY);    // Y's on node 3
        await cluster[1].Context.ChangeAsync(s => TestChanges.Register(s, NexusX, 0x1));

        // PREEMPT AND ABORT of X's registration through node 1.
        var (generation, aborted) = await cluster[1].Context.ChangeAndAbortAsync(
            s => Preempt(s, NexusX),
            g => new TaskAbortOrder(TaskAbortScope.TasksOfRegistrations, LuStateJsonTests.NexusA) { Registrations = [new PersistentRegistration(NexusX, 0x1)] });

        Assert.All(sets[1].Tasks, t => Assert.True(t.Ended.Task.IsCompleted)); // ended, not merely marked
        Assert.All(sets[2].Tasks, t => Assert.False(t.Aborted));
        Assert.Equal([NexusX], aborted);
        Assert.Equal(0, sets[0].Orders); // the committing node aborts its own tasks itself
        Assert.All(cluster.Nodes, n => Assert.Equal(generation, n.Context.Current.PersistentReservations.Generation));

        // LOGICAL UNIT RESET / CLEAR TASK SET: every task; the order commits even when the state is unchanged.
        long before = (await store.GetAsync(cluster.Key))!.ModRevision;
        var (_, all) = await cluster[2].Context.ChangeAndAbortAsync(s => (s, true), _ => new TaskAbortOrder(TaskAbortScope.AllTasks, NexusX));
        Assert.All(sets[2].Tasks, t => Assert.True(t.Ended.Task.IsCompleted));
        Assert.Equal([NexusY], all);
        Assert.True((await store.GetAsync(cluster.Key))!.ModRevision > before);
    }

    [Fact]
    public async Task ANodeWhoseAbortedTasksDoNotEndIsFencedAndTheOrderCompletes()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var fenced = new ConcurrentBag<string>();
        cluster[1].Replicator.Fenced += fenced.Add;
        var sets = cluster.Nodes.Select(n => Bind(n, new FakeTaskSet())).ToList();
        sets[1].Start(NexusX);
        sets[2].Start(NexusY);
        sets[2].Hang = true; // node 3 still acknowledges revisions, but its aborted task never ends

        var (_, aborted) = await cluster[1].Context.ChangeAndAbortAsync(s => (s, true), _ => new TaskAbortOrder(TaskAbortScope.AllTasks, LuStateJsonTests.NexusA));

        Assert.Equal(["n3"], fenced);
        Assert.True(cluster[3].Context.IsFenced);
        Assert.Equal([NexusX], aborted);
    }

    [Fact]
    public async Task ANodeThatDoesNotServeTheLuStillAnswersAbortOrders()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 2);
        var fenced = new ConcurrentBag<string>();
        cluster[1].Replicator.Fenced += fenced.Add;
        await using var bystander = await new ClusterMembership(store).RegisterAsync(new NodeRecord("n9", "127.0.0.1:3269", "127.0.0.1:7009"), ContextCluster.LeaseTtl);
        await using var replicator = new ContextReplicator(store, bystander, cluster.Options);
        await replicator.StartAsync();

        await cluster[1].Context.ChangeAndAbortAsync(s => (s, true), _ => new TaskAbortOrder(TaskAbortScope.AllTasks, LuStateJsonTests.NexusA));
        Assert.Empty(fenced);
    }

    private static FakeTaskSet Bind(ContextNode node, FakeTaskSet set)
    {
        node.Context.BindLocalTaskSet(set.AbortAsync);
        return set;
    }

    private static (LuState, uint) Preempt(LuState s, string nexusKey)
    {
        var pr = s.PersistentReservations;
        var next = pr with { Generation = pr.Generation + 1, Registrations = pr.Registrations.RemoveAll(r => r.NexusKey == nexusKey) };
        return (s with { PersistentReservations = next }, next.Generation);
    }
}
