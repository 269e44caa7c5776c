using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>Membership and epoch fencing, which only use <see cref="IMetadataStore"/>, on both stores.</summary>
public abstract partial class MetadataStoreContract
{
    private static readonly TimeSpan LongTtl = TimeSpan.FromSeconds(120);

    private static NodeRecord Node(string id) => new(id, $"127.0.0.1:{3260 + id.Length}", $"127.0.0.1:{7000 + id.Length}");

    private static async Task<MembershipChange> NextChangeAsync(IAsyncEnumerator<MembershipChange> changes)
    {
        var next = changes.MoveNextAsync().AsTask();
        Assert.Same(next, await Task.WhenAny(next, Task.Delay(Wait)));
        Assert.True(await next);
        return changes.Current;
    }

    [Fact]
    public async Task Membership_join_list_leave_and_lapse()
    {
        var membership = new ClusterMembership(Store);
        await using var a = await membership.RegisterAsync(Node("a"), LongTtl);
        var (nodes, _) = await membership.ListLiveAsync();
        Assert.Equal(["a"], nodes.Select(n => n.Id));
        Assert.Equal(Node("a"), nodes[0]);

        await using var changes = membership.WatchAsync().GetAsyncEnumerator();
        var initial = await NextChangeAsync(changes);
        Assert.Equal((MembershipChangeKind.Joined, "a"), (initial.Kind, initial.NodeId));

        var b = await membership.RegisterAsync(Node("b"), LongTtl);
        var joined = await NextChangeAsync(changes);
        Assert.Equal((MembershipChangeKind.Joined, "b"), (joined.Kind, joined.NodeId));
        Assert.Equal(Node("b"), joined.Node);

        // The same id cannot be registered twice while live.
        await Assert.ThrowsAsync<NodeIdTakenException>(() => membership.RegisterAsync(Node("b"), LongTtl));

        await b.DisposeAsync(); // graceful leave
        var left = await NextChangeAsync(changes);
        Assert.Equal((MembershipChangeKind.Left, "b"), (left.Kind, left.NodeId));

        // A node that stops renewing (crash) is out once its lease lapses.
        var c = await membership.RegisterAsync(Node("c"), ShortTtl);
        Assert.Equal((MembershipChangeKind.Joined, "c"), ((await NextChangeAsync(changes)).Kind, changes.Current.NodeId));
        await c.AbandonAsync();
        var pending = NextChangeAsync(changes);
        await PassTimeAsync(ShortTtl * 3);
        var lapsed = await pending;
        Assert.Equal((MembershipChangeKind.Left, "c"), (lapsed.Kind, lapsed.NodeId));
        Assert.Equal(["a"], (await membership.ListLiveAsync()).Nodes.Select(n => n.Id));
        Assert.False(a.Lost.IsCompleted);
    }

    [Fact]
    public async Task Membership_tracker_raises_joined_and_left()
    {
        var membership = new ClusterMembership(Store);
        await using var a = await membership.RegisterAsync(Node("a"), LongTtl);
        await using var tracker = new MembershipTracker(membership);
        var joined = new TaskCompletionSource<MembershipChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        var left = new TaskCompletionSource<MembershipChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        tracker.Joined += c =>
        {
            if (c.NodeId == "b")
            {
                joined.TrySetResult(c);
            }
        };
        tracker.Left += c => left.TrySetResult(c);
        await tracker.StartAsync();
        Assert.Equal(["a"], tracker.LiveNodes.Select(n => n.Id));

        var b = await membership.RegisterAsync(Node("b"), LongTtl);
        Assert.Equal("b", (await joined.Task.WaitAsync(Wait)).NodeId);
        Assert.Equal(["a", "b"], tracker.LiveNodes.Select(n => n.Id));
        await b.DisposeAsync();
        Assert.Equal("b", (await left.Task.WaitAsync(Wait)).NodeId);
        Assert.Equal(["a"], tracker.LiveNodes.Select(n => n.Id));
    }

    [Fact]
    public async Task Epoch_takeover_requires_revoking_the_dead_owner_first_and_fences_its_writes()
    {
        var membership = new ClusterMembership(Store);
        var a = await membership.RegisterAsync(Node("a"), LongTtl);
        await using var b = await membership.RegisterAsync(Node("b"), LongTtl);
        var fenceA = new EpochFencing(Store, a);
        var fenceB = new EpochFencing(Store, b);
        var su = new SubunitId("vol1", 7);

        var acquired = await fenceA.TryAcquireAsync(su, expectedEpoch: 0);
        Assert.True(acquired.Acquired);
        var tokenA = acquired.Token!;
        Assert.Equal(1, tokenA.Epoch);
        Assert.Equal(new OwnerRecord("a", 1, OwnerState.Held, a.CreateRevision), await fenceB.GetOwnerAsync(su));
        Assert.True(await fenceA.TryCommitFencedAsync(tokenA, [TxnOp.Put("/tessera/context/vol1/x", B("by a"))]));

        // b may not take a live owner's sub-unit, whatever epoch it names.
        Assert.Equal(AcquireFailure.HeldByOther, (await fenceB.TryAcquireAsync(su, 1)).Failure);
        Assert.Equal(AcquireFailure.EpochMismatch, (await fenceB.TryAcquireAsync(su, 0)).Failure);

        // a dies (stops renewing); b fences it, then takes over at the next epoch.
        await a.AbandonAsync();
        Assert.Equal(1, await fenceB.RevokeNodeAsync("a"));
        Assert.Equal(new OwnerRecord("a", 2, OwnerState.Revoked, a.CreateRevision), await fenceB.GetOwnerAsync(su));
        Assert.Null(await Store.GetAsync(MetadataKeys.Node("a")));
        Assert.Equal(0, await fenceB.RevokeNodeAsync("a")); // idempotent

        var stale = await fenceB.TryAcquireAsync(su, 1);
        Assert.Equal(AcquireFailure.EpochMismatch, stale.Failure);
        Assert.Equal(2, stale.Current!.Epoch);
        var takeover = await fenceB.TryAcquireAsync(su, 2);
        Assert.True(takeover.Acquired);
        Assert.Equal(3, takeover.Token!.Epoch);

        // The old owner's writes carry a stale epoch and are refused; nothing was written.
        Assert.False(await fenceA.TryCommitFencedAsync(tokenA, [TxnOp.Put("/tessera/context/vol1/x", B("stale a"))]));
        Assert.False(await fenceA.IsCurrentAsync(tokenA));
        Assert.Equal("by a", S((await Store.GetAsync("/tessera/context/vol1/x"))!.Value));
        Assert.True(await fenceB.TryCommitFencedAsync(takeover.Token, [TxnOp.Put("/tessera/context/vol1/x", B("by b"))]));

        // The fenced incarnation of a can acquire nothing any more.
        var other = new SubunitId("vol1", 8);
        Assert.Equal(AcquireFailure.NotMember, (await fenceA.TryAcquireAsync(other, 0)).Failure);
        Assert.Null(await fenceA.GetOwnerAsync(other));
        Assert.True(a.Lost.IsCompleted || await Task.WhenAny(a.Lost, Task.Delay(Wait)) == a.Lost);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task Epoch_release_hands_over_and_revoke_spares_a_new_incarnation()
    {
        var membership = new ClusterMembership(Store);
        var a = await membership.RegisterAsync(Node("a"), LongTtl);
        await using var b = await membership.RegisterAsync(Node("b"), LongTtl);
        var fenceA = new EpochFencing(Store, a);
        var fenceB = new EpochFencing(Store, b);
        var s0 = new SubunitId("v", 0);
        var s1 = new SubunitId("v", 1);

        var t0 = (await fenceA.TryAcquireAsync(s0, 0)).Token!;
        Assert.True(await fenceA.ReleaseAsync(t0));
        Assert.False(await fenceA.ReleaseAsync(t0)); // stale now
        Assert.Equal(OwnerState.Released, (await fenceA.GetOwnerAsync(s0))!.State);
        Assert.Equal(3, (await fenceB.TryAcquireAsync(s0, 2)).Token!.Epoch);

        // a crashes holding s1 and s2 and comes back as a new incarnation (same id) before anyone
        // fenced it. It may re-take its own old record directly (s2); fencing the old incarnation
        // afterwards revokes only what that incarnation still holds (s1), not a2's key or s2.
        var s2 = new SubunitId("v", 2);
        Assert.True((await fenceA.TryAcquireAsync(s1, 0)).Acquired);
        Assert.True((await fenceA.TryAcquireAsync(s2, 0)).Acquired);
        long oldIncarnation = a.CreateRevision;
        await a.AbandonAsync();
        await Store.RevokeLeaseAsync(a.LeaseId);
        await using var a2 = await membership.RegisterAsync(Node("a"), LongTtl);
        Assert.NotEqual(oldIncarnation, a2.CreateRevision);
        var fenceA2 = new EpochFencing(Store, a2);
        Assert.Equal(AcquireFailure.HeldByOther, (await fenceB.TryAcquireAsync(s2, 1)).Failure);
        var retake = await fenceA2.TryAcquireAsync(s2, 1);
        Assert.True(retake.Acquired);

        Assert.Equal(1, await fenceB.RevokeNodeAsync("a", oldIncarnation));
        Assert.NotNull(await Store.GetAsync(MetadataKeys.Node("a")));
        Assert.False(a2.Lost.IsCompleted);
        Assert.True(await fenceA2.IsCurrentAsync(retake.Token!));
        var owners = await fenceB.ListOwnersAsync("v");
        Assert.Equal([(0, "b", OwnerState.Held, 3L), (1, "a", OwnerState.Revoked, 2L), (2, "a", OwnerState.Held, 2L)], owners.Select(o => (o.Subunit, o.Owner.Node, o.Owner.State, o.Owner.Epoch)));
        Assert.True((await fenceB.TryAcquireAsync(s1, 2)).Acquired);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task Epoch_concurrent_takeover_of_a_vacant_subunit_has_one_winner()
    {
        var membership = new ClusterMembership(Store);
        var nodes = new List<NodeRegistration>();
        for (int i = 0; i < 5; i++)
        {
            nodes.Add(await membership.RegisterAsync(Node("n" + i), LongTtl));
        }

        try
        {
            for (int round = 0; round < 5; round++)
            {
                var su = new SubunitId("race", round);
                var results = await Task.WhenAll(nodes.Select(n => Task.Run(() => new EpochFencing(Store, n).TryAcquireAsync(su, 0))));
                var winner = Assert.Single(results, r => r.Acquired);
                Assert.All(results.Where(r => !r.Acquired), r => Assert.Equal(AcquireFailure.EpochMismatch, r.Failure));
                Assert.Equal(winner.Token!.Node, (await new EpochFencing(Store, nodes[0]).GetOwnerAsync(su))!.Node);
            }
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Applied_acks_confirm_a_commit_on_every_live_node_and_name_the_laggard()
    {
        var membership = new ClusterMembership(Store);
        await using var a = await membership.RegisterAsync(Node("a"), LongTtl);
        await using var b = await membership.RegisterAsync(Node("b"), LongTtl);
        await using var c = await membership.RegisterAsync(Node("c"), LongTtl);
        var acks = new AppliedAcks(Store);

        long commit = await Store.PutAsync("/tessera/context/vol/pr", B("registration"));
        await acks.PublishAsync(a, commit);
        var waiting = acks.WaitAppliedAsync(commit, ["a", "b", "c"], Wait);
        await acks.PublishAsync(b, commit - 1); // not far enough yet
        await acks.PublishAsync(b, commit);
        Assert.False(waiting.IsCompleted); // c has not acknowledged, and the timeout is far away
        await acks.PublishAsync(c, commit + 5);
        Assert.Empty(await waiting);

        // A node that never applies the next commit is named once the timeout passes.
        long next = await Store.PutAsync("/tessera/context/vol/pr", B("reservation"));
        await acks.PublishAsync(a, next);
        await acks.PublishAsync(c, next);
        Assert.Equal(["b"], await acks.WaitAppliedAsync(next, ["a", "b", "c"], TimeSpan.FromMilliseconds(300)));
        Assert.Equal(commit, (await acks.ReadAsync())["b"]);

        // Acks are bound to the node's lease: a node that leaves takes its ack with it.
        await b.DisposeAsync();
        Assert.False((await acks.ReadAsync()).ContainsKey("b"));
    }

    [Fact]
    public async Task Dead_node_fencer_revokes_a_lapsed_node_so_survivors_can_take_over()
    {
        var membership = new ClusterMembership(Store);
        var a = await membership.RegisterAsync(Node("a"), ShortTtl);
        await using var b = await membership.RegisterAsync(Node("b"), LongTtl);
        var fenceA = new EpochFencing(Store, a);
        var su = new SubunitId("vf", 3);
        Assert.True((await fenceA.TryAcquireAsync(su, 0)).Acquired);

        // A record left by an incarnation that died before anyone watched is swept on start.
        await Store.PutAsync(MetadataKeys.Owner("vf", 9), MetadataJson.Serialize(new OwnerRecord("ghost", 1, OwnerState.Held, 1), MetadataJsonContext.Default.OwnerRecord));

        await using var fencer = new DeadNodeFencer(Store, b);
        var fenced = new TaskCompletionSource<(string Node, long Incarnation, int Revoked)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ghost = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        fencer.Fenced += (node, incarnation, revoked) =>
        {
            if (node == "a")
            {
                fenced.TrySetResult((node, incarnation, revoked));
            }
            else if (node == "ghost")
            {
                ghost.TrySetResult(revoked);
            }
        };
        await fencer.StartAsync();
        Assert.Equal(1, await ghost.Task.WaitAsync(Wait));
        Assert.Equal(OwnerState.Held, (await fenceA.GetOwnerAsync(su))!.State); // a is alive: untouched

        await a.AbandonAsync(); // crash: stops renewing
        await PassTimeAsync(ShortTtl * 3);
        var result = await fenced.Task.WaitAsync(Wait);
        Assert.Equal((a.CreateRevision, 1), (result.Incarnation, result.Revoked));
        var fenceB = new EpochFencing(Store, b);
        Assert.Equal(new OwnerRecord("a", 2, OwnerState.Revoked, a.CreateRevision), await fenceB.GetOwnerAsync(su));
        Assert.True((await fenceB.TryAcquireAsync(su, 2)).Acquired);
        Assert.True((await fenceB.TryAcquireAsync(new SubunitId("vf", 9), 2)).Acquired);
        await a.DisposeAsync();
    }
}
