using System.Collections.Concurrent;
using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>
/// The cluster LU context on several in-process nodes sharing one metadata store; run on the embedded
/// store and on a real etcd (ARCHITECTURE decision 2: a context change completes only after every live
/// node applied it, or a node that could not confirm was fenced).
/// </summary>
public abstract partial class ClusterContextContract
{
    private protected abstract Task<IMetadataStore> CreateStoreAsync();

    /// <summary>Loop count of the "no window" tests.</summary>
    protected virtual int Iterations => 200;

    [Fact]
    public async Task AChangeIsInEveryNodesAppliedCopyTheInstantItCompletes()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        for (int i = 0; i < Iterations; i++)
        {
            var via = cluster.Nodes[i % 3];
            string nexus = $"iqn.2026-01.io.test:h{i % 5},i,0x000000000001,t,0x{via.Index:x4}";
            uint generation = await via.Context.ChangeAsync(s => TestChanges.Reregister(s, nexus, (ulong)i + 1));
            if (i % 2 == 1)
            {
                await via.Context.ChangeAsync(s => (TestChanges.Enqueue(s, nexus, new UnitAttention(0x2A, (byte)(i % 256))), true));
            }

            // No wait, no retry: the applied copy of every node already holds the change.
            foreach (var node in cluster.Nodes)
            {
                var current = node.Context.Current;
                Assert.Equal(generation, current.PersistentReservations.Generation);
                Assert.Contains(current.PersistentReservations.Registrations, r => r.NexusKey == nexus && r.ReservationKey == (ulong)i + 1);
                if (i % 2 == 1)
                {
                    Assert.Equal(new UnitAttention(0x2A, (byte)(i % 256)), TestChanges.QueueOf(current, nexus)[^1]);
                }
            }
        }
    }

    [Fact]
    public async Task ConcurrentChangesFromEveryNodeAreLinearizable()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 4);
        var generations = new ConcurrentBag<uint>();
        // 4 nodes x 5 concurrent workers x 10 changes: cross-node compare-and-swap races and local queueing.
        var workers = cluster.Nodes.SelectMany(node => Enumerable.Range(0, 5).Select(worker => Task.Run(async () =>
        {
            for (int j = 0; j < 10; j++)
            {
                string nexus = $"iqn.2026-01.io.test:{node.Id}-{worker}-{j},i,0x000000000001,t,0x{node.Index:x4}";
                generations.Add(await node.Context.ChangeAsync(s => TestChanges.Register(s, nexus, 7)));
            }
        }))).ToList();
        await Task.WhenAll(workers);

        // Every increment saw a distinct predecessor (no lost update) ...
        Assert.Equal(Enumerable.Range(1, 200).Select(g => (uint)g), generations.Order());
        foreach (var node in cluster.Nodes)
        {
            // ... and every node holds all 200 registrations.
            var pr = node.Context.Current.PersistentReservations;
            Assert.Equal(200u, pr.Generation);
            Assert.Equal(200, pr.Registrations.Select(r => r.NexusKey).Distinct().Count());
        }
    }

    [Fact]
    public async Task AChangeThatChangesNothingIsNotWrittenAndReadsTheLatestState()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        await cluster[1].Context.ChangeAsync(s => (s with { PersistentReservations = s.PersistentReservations with { Generation = 41 } }, true));
        long before = (await store.GetAsync(cluster.Key))!.ModRevision;

        uint seen = await cluster[2].Context.ChangeAsync(s => (s, s.PersistentReservations.Generation));
        // A new but equal instance is no change either (compared by its committed bytes).
        await cluster[3].Context.ChangeAsync(s => (s with { PersistentReservations = s.PersistentReservations with { } }, true));

        Assert.Equal(41u, seen);
        Assert.Equal(before, (await store.GetAsync(cluster.Key))!.ModRevision);
    }

    [Fact]
    public async Task AStaleLocalCopyNeverDecidesAResult()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 2);
        var node = cluster[2];
        // Node 2 stops applying; the store then moves on behind its back (a raw put: no barrier, no fencing).
        await node.Replicator.StopWatchingAsync();
        var moved = node.Context.Current with { PersistentReservations = PersistentReservationState.Empty with { Generation = 90 } };
        await store.PutAsync(cluster.Key, LuStateJson.Serialize(moved));
        Assert.Equal(0u, node.Context.Current.PersistentReservations.Generation);

        // A read-only change is answered from the latest committed state, not from the stale copy ...
        Assert.Equal(90u, await node.Context.ChangeAsync(s => (s, s.PersistentReservations.Generation)));
        // ... and a writing one is recomputed on it after its compare-and-swap fails.
        Assert.Equal(91u, await node.Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 1)));
        Assert.Equal(91u, cluster[1].Context.Current.PersistentReservations.Generation);
        Assert.Equal(91u, node.Context.Current.PersistentReservations.Generation);
    }

    [Fact]
    public async Task ANodeThatStopsAcknowledgingIsFencedBeforeTheChangeCompletes()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var fenced = new ConcurrentBag<string>();
        cluster[1].Replicator.Fenced += fenced.Add;
        var stuck = cluster[3];
        await stuck.Replicator.StopWatchingAsync();

        uint generation = await cluster[1].Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 5));

        // By the time the change completed, node 3 was fenced and knows it: its port group is
        // unavailable in its applied copy and it refuses context changes.
        Assert.Equal(["n3"], fenced);
        Assert.True(stuck.Registration.Lost.IsCompleted);
        Assert.True(stuck.Context.IsFenced);
        Assert.Equal(AsymmetricAccessState.Unavailable, stuck.Context.Current.Alua.StateOf(3));
        Assert.Equal(0u, stuck.Context.Current.PersistentReservations.Generation);
        await Assert.ThrowsAsync<LuContextUnavailableException>(async () => await stuck.Context.ChangeAsync(s => TestChanges.Register(s, "x,t,0x0003", 1)));
        var (live, _) = await new ClusterMembership(store).ListLiveAsync();
        Assert.Equal(["n1", "n2"], live.Select(n => n.Id));
        Assert.Equal(generation, cluster[2].Context.Current.PersistentReservations.Generation);

        // Node 3 is out of the live set: the next change does not wait for it.
        cluster[1].Replicator.Fenced += _ => Assert.Fail("fenced again");
        uint next = await cluster[2].Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusB, 6));
        Assert.Equal(next, cluster[1].Context.Current.PersistentReservations.Generation);
    }

    [Fact]
    public async Task AFencedNodesStaleCommitIsRefusedByTheStore()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 2);
        var node = cluster[2];
        // Its key is removed behind its back; before it notices, its next change must not commit.
        await new Tessera.Cluster.Metadata.Ownership.EpochFencing(store, cluster[1].Registration).RevokeNodeAsync("n2", node.Registration.CreateRevision);
        long before = (await store.GetAsync(cluster.Key))!.ModRevision;
        await Assert.ThrowsAsync<LuContextUnavailableException>(async () => await node.Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 1)));
        Assert.Equal(before, (await store.GetAsync(cluster.Key))!.ModRevision);
    }

    [Fact]
    public async Task NodesOpeningAtOnceAgreeOnOneInitialState()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 4);
        string volume = Guid.NewGuid().ToString("N");
        var opened = await Task.WhenAll(cluster.Nodes.Select(n => n.Replicator.OpenAsync(
            volume, LuState.Initial with { PersistentReservations = PersistentReservationState.Empty with { Generation = n.Index } })));
        try
        {
            var winner = LuStateJson.Serialize(opened[0].Current);
            Assert.All(opened, c => Assert.Equal(winner, LuStateJson.Serialize(c.Current)));
            Assert.Equal(winner, (await store.GetAsync(ContextKeys.Of(volume)))!.Value.ToArray());
        }
        finally
        {
            foreach (var c in opened)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ANodeJoiningLaterLoadsTheCommittedStateAndTakesPart()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 2);
        await cluster[1].Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 1));
        var late = await cluster.AddNodeAsync(initial: LuState.Initial);

        Assert.Equal(1u, late.Context.Current.PersistentReservations.Generation);
        uint g = await late.Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusB, 2));
        uint h = await cluster[1].Context.ChangeAsync(s => TestChanges.Register(s, "iqn.c,i,0x000000000003,t,0x0001", 3));
        Assert.Equal(2u, g);
        Assert.All(cluster.Nodes, n => Assert.Equal(h, n.Context.Current.PersistentReservations.Generation));
    }

    [Fact]
    public async Task SeveralLusOnOneNodeShareOneOrderedAck()
    {
        // One watch and one ack per node cover every LU: an ack for LU b's revision must imply LU a's
        // earlier revisions are applied too.
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        string other = Guid.NewGuid().ToString("N");
        var seconds = await Task.WhenAll(cluster.Nodes.Select(n => n.Replicator.OpenAsync(other)));
        try
        {
            for (int i = 0; i < Iterations / 4; i++)
            {
                var a = cluster.Nodes[i % 3].Context;
                var b = seconds[(i + 1) % 3];
                var changeA = a.ChangeAsync(s => TestChanges.Reregister(s, LuStateJsonTests.NexusA, (ulong)i)).AsTask();
                var changeB = b.ChangeAsync(s => TestChanges.Reregister(s, LuStateJsonTests.NexusB, (ulong)i)).AsTask();
                uint ga = await changeA, gb = await changeB;
                Assert.All(cluster.Nodes, n => Assert.True(n.Context.Current.PersistentReservations.Generation >= ga));
                Assert.All(seconds, c => Assert.True(c.Current.PersistentReservations.Generation >= gb));
                Assert.All(cluster.Nodes, n => Assert.DoesNotContain(n.Context.Current.PersistentReservations.Registrations, r => r.NexusKey == LuStateJsonTests.NexusB));
            }
        }
        finally
        {
            foreach (var c in seconds)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ReservationsWithoutAWindow()
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, 3);
        var scsi = new ScsiCluster(cluster);
        await ScsiCluster.RunReservationsWithoutAWindowAsync(scsi, Math.Max(10, Iterations / 4));
    }
}
