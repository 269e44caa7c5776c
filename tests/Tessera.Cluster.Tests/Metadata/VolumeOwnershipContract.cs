using System.Text;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Status;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>
/// Volumes, sub-unit ownership, takeover, liveness and status over the metadata store, on the
/// embedded store and on etcd. Six nodes "1".."6"; one volume of 30 sub-units (K = 4, 64 KiB
/// chunks, one stripe per sub-unit) so every node owns 5 and a departed node's 5 go one to each survivor.
/// </summary>
public abstract class VolumeOwnershipContract : IAsyncLifetime
{
    private protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private protected static readonly TimeSpan LongTtl = TimeSpan.FromSeconds(120);
    private protected static readonly string[] Six = ["1", "2", "3", "4", "5", "6"];
    private const long SubUnitBytes = 4 * 64 * 1024;

    private readonly Stack<IAsyncDisposable> _cleanup = new();
    private IMetadataStore? _store;

    private protected IMetadataStore Store => _store ?? throw new InvalidOperationException("not initialised");

    private protected virtual TimeSpan ShortTtl => TimeSpan.FromSeconds(1);

    /// <summary>The clock leases and the agents' grace period run on.</summary>
    private protected abstract TimeProvider Clock { get; }

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        while (_cleanup.TryPop(out var item))
        {
            await item.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private protected abstract Task<IMetadataStore> CreateStoreAsync();

    private protected abstract Task PassTimeAsync(TimeSpan time);

    private protected T Track<T>(T item)
        where T : IAsyncDisposable
    {
        _cleanup.Push(item);
        return item;
    }

    private static NodeRecord Node(string id) => new(id, $"127.0.0.1:{3259 + int.Parse(id)}", $"127.0.0.1:{7000 + int.Parse(id)}");

    private static VolumeSpec Spec(string name, int subUnits = 30) => new(name, subUnits * SubUnitBytes) { StripesPerSubUnit = 1 };

    private async Task<Dictionary<string, NodeRegistration>> RegisterAsync(string shortLived = "")
    {
        var membership = new ClusterMembership(Store);
        var nodes = new Dictionary<string, NodeRegistration>();
        foreach (string id in Six)
        {
            nodes[id] = Track(await membership.RegisterAsync(Node(id), id == shortLived ? ShortTtl : LongTtl));
        }

        return nodes;
    }

    private async Task<Dictionary<string, OwnershipAgent>> StartAgentsAsync(IEnumerable<NodeRegistration> nodes)
    {
        var agents = new Dictionary<string, OwnershipAgent>();
        foreach (var node in nodes)
        {
            var agent = Track(new OwnershipAgent(Store, node, Clock) { TakeoverGrace = TimeSpan.FromHours(1) });
            await agent.StartAsync();
            agents[node.NodeId] = agent;
        }

        return agents;
    }

    [Fact]
    public async Task Volumes_are_created_listed_and_deleted_with_their_owners_and_context()
    {
        var directory = new VolumeDirectory(Store);
        var db = await directory.CreateAsync(Spec("db") with { ReadOnly = true, PhysicalBlockSize = 4096 }, Six);
        var logs = await directory.CreateAsync(Spec("logs", 4) with { BlockSize = 4096, DataColumns = 3 }, Six);
        Assert.Equal((0, 1), (db.Lun, logs.Lun));
        Assert.Equal(Six, db.Placement);
        Assert.Equal((512, 4096, true, 4, 64 * 1024, 1), (db.BlockSize, db.PhysicalBlockSize, db.ReadOnly, db.DataColumns, db.ChunkSize, db.StripesPerSubUnit));
        Assert.Equal(30, db.ToLayout().SubUnitCount);
        Assert.Equal(6, db.ToLayout().NodeCount);

        var (listed, _) = await directory.ListAsync();
        Assert.Equal(["db", "logs"], listed.Select(v => v.Name));
        var reread = await directory.GetAsync(db.Id);
        Assert.NotNull(reread);
        Assert.Equal((db.Id, db.Name, db.Lun, db.SizeBytes, db.Created), (reread.Id, reread.Name, reread.Lun, reread.SizeBytes, reread.Created));
        Assert.Equal(db.Placement, reread.Placement);
        Assert.Equal(logs.Id, (await directory.FindAsync("logs"))!.Id);
        Assert.Null(await directory.FindAsync("LOGS"));

        // Owners and context of the volume go with it; other volumes' keys stay.
        await Store.PutAsync(MetadataKeys.Owner(db.Key, 0), Encoding.UTF8.GetBytes("{}"));
        await Store.PutAsync(MetadataKeys.Context + db.Key, Encoding.UTF8.GetBytes("{}"));
        await Store.PutAsync(MetadataKeys.Context + db.Key + "/abort", Encoding.UTF8.GetBytes("{}"));
        await Store.PutAsync(MetadataKeys.Owner(logs.Key, 0), Encoding.UTF8.GetBytes("{}"));
        Assert.Equal(db.Id, (await directory.DeleteAsync("db")).Id);
        Assert.Empty((await Store.GetRangeAsync(MetadataKeys.OwnersOf(db.Key))).Entries);
        Assert.Empty((await Store.GetRangeAsync(MetadataKeys.Context + db.Key)).Entries);
        Assert.Single((await Store.GetRangeAsync(MetadataKeys.OwnersOf(logs.Key))).Entries);
        Assert.Null(await directory.GetAsync(db.Id));
        var missing = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.DeleteAsync("db"));
        Assert.Equal("no volume named 'db'", missing.Message);

        // Its name and LUN are free again: the lowest free LUN is 0.
        var again = await directory.CreateAsync(Spec("DB"), Six);
        Assert.Equal(0, again.Lun);
        Assert.NotEqual(db.Id, again.Id);
        Assert.Equal(["DB", "logs"], (await directory.ListAsync()).Volumes.Select(v => v.Name));
    }

    [Fact]
    public async Task Duplicate_names_and_luns_and_too_few_nodes_are_refused()
    {
        var directory = new VolumeDirectory(Store);
        var first = await directory.CreateAsync(Spec("data") with { Lun = 5 }, Six);
        Assert.Equal(5, first.Lun);

        var sameName = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("data"), Six));
        Assert.Equal("a volume named 'data' already exists", sameName.Message);
        var caseOnly = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("DATA"), Six));
        Assert.Equal("a volume named 'data' already exists (names differ only in case)", caseOnly.Message);
        var sameLun = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("other") with { Lun = 5 }, Six));
        Assert.Equal("LUN 5 is taken by volume 'data'", sameLun.Message);
        var sameId = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("other") with { Id = first.Id }, Six));
        Assert.Contains(first.Key, sameId.Message);

        // K + 2 > nodes: explicit placement, and the live nodes when none is given.
        var five = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("wide"), ["1", "2", "3", "4", "5"]));
        Assert.Equal("volume 'wide': 4 data columns plus 2 parity columns need 6 nodes, but 5 are available (1, 2, 3, 4, 5)", five.Message);
        var membership = new ClusterMembership(Store);
        foreach (string id in new[] { "10", "2", "x", "7" })
        {
            Track(await membership.RegisterAsync(Node("9") with { Id = id }, LongTtl));
        }

        var live = await Assert.ThrowsAsync<VolumeDirectoryException>(() => directory.CreateAsync(Spec("wide"), null));
        Assert.Equal("volume 'wide': 4 data columns plus 2 parity columns need 6 nodes, but 4 are available (2, 7, 10, x)", live.Message);
        var narrow = await directory.CreateAsync(Spec("narrow") with { DataColumns = 2 }, null);
        Assert.Equal(["2", "7", "10", "x"], narrow.Placement); // NodeOrder: numbers by value, then the rest

        // Bad specs are argument errors naming the problem; nothing is written.
        Assert.Contains("character ' ' is not allowed", (await Assert.ThrowsAsync<ArgumentException>(() => directory.CreateAsync(Spec("a b"), Six))).Message);
        Assert.Contains("block size 1000 is not 512 or 4096", (await Assert.ThrowsAsync<ArgumentException>(() => directory.CreateAsync(Spec("bs") with { BlockSize = 1000 }, Six))).Message);
        Assert.Contains("placement names node '3' twice", (await Assert.ThrowsAsync<ArgumentException>(() => directory.CreateAsync(Spec("dup"), ["1", "2", "3", "3", "5", "6"]))).Message);
        Assert.Contains("chunk", (await Assert.ThrowsAsync<ArgumentException>(() => directory.CreateAsync(Spec("odd") with { ChunkSize = 1000 }, Six))).Message);
        Assert.Equal(["data", "narrow"], (await directory.ListAsync()).Volumes.OrderBy(v => v.Name).Select(v => v.Name));
    }

    [Fact]
    public async Task Concurrent_creators_get_distinct_luns_and_one_wins_a_name()
    {
        var directory = new VolumeDirectory(Store);
        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => directory.CreateAsync(Spec("v" + i, 1), Six))));
        Assert.Equal(Enumerable.Range(0, 8), created.Select(v => v.Lun).Order());
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            try
            {
                await directory.CreateAsync(Spec("contended", 1), Six);
                return true;
            }
            catch (VolumeDirectoryException)
            {
                return false;
            }
        })));
        Assert.Single(outcomes, won => won);
    }

    [Fact]
    public async Task Malformed_volume_records_give_precise_errors()
    {
        var directory = new VolumeDirectory(Store);
        var good = await directory.CreateAsync(Spec("good"), Six);
        string json = Encoding.UTF8.GetString(MetadataJson.Serialize(good, MetadataJsonContext.Default.VolumeRecord));
        string key = MetadataKeys.Volume(good.Key);

        async Task<string> ProblemWith(string value)
        {
            await Store.PutAsync(key, Encoding.UTF8.GetBytes(value));
            var e = await Assert.ThrowsAsync<MalformedMetadataException>(() => directory.ListAsync());
            Assert.Equal(key, e.Key);
            Assert.StartsWith($"malformed record {key}: ", e.Message);
            return e.Message;
        }

        Assert.Contains("LineNumber: 0 | BytePositionInLine: 1", await ProblemWith("{{"));
        Assert.Contains("placement", await ProblemWith(json.Replace("\"placement\":", "\"nodes\":")));
        Assert.Contains("block size 1000 is not 512 or 4096", await ProblemWith(json.Replace("\"blockSize\":512", "\"blockSize\":1000")));
        Assert.Contains("need 6 nodes, the placement has 2", await ProblemWith(json.Replace("[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]", "[\"1\",\"2\"]")));
        Assert.Contains("format 9 is not supported", await ProblemWith(json.Replace("\"format\":1", "\"format\":9")));
        Assert.Contains("not the one in its key", await ProblemWith(json.Replace(good.Key, Guid.NewGuid().ToString("D"))));
        Assert.Contains("value is JSON null", await ProblemWith("null"));

        // Status keeps going and lists the problem.
        var report = await ClusterStatus.ReadAsync(Store, "test");
        Assert.Empty(report.Volumes);
        Assert.Contains(report.Problems, p => p.Contains(key) && p.Contains("JSON null"));
    }

    [Fact]
    public async Task New_volume_sub_units_are_acquired_round_robin_at_epoch_1()
    {
        var nodes = await RegisterAsync();
        var agents = await StartAgentsAsync(nodes.Values);
        var volume = await new VolumeDirectory(Store).CreateAsync(Spec("spread"));
        Assert.Equal(Six, volume.Placement); // the live nodes, in node order
        await using var view = await MetadataOwnershipView.StartAsync(Store, volume);
        await view.WaitAllOwnedAsync().WaitAsync(Wait);

        for (int u = 0; u < 30; u++)
        {
            Assert.Equal(new NodeId(u % 6), view.Owner(u));
            Assert.Equal(Six[u % 6], view.OwnerId(u));
            Assert.Equal(1, view.Epoch(u));
        }

        // An agent counts an acquisition when its store call returns, which may be after the view saw it.
        using (var settle = new CancellationTokenSource(Wait))
        {
            while (agents.Values.Any(a => a.Acquisitions < 5) && !settle.IsCancellationRequested)
            {
                await Task.Delay(10);
            }
        }

        Assert.All(agents.Values, a => Assert.Equal(5, a.Acquisitions));
        var owners = await new EpochFencing(Store, nodes["1"]).ListOwnersAsync(volume.Key);
        Assert.All(owners, o => Assert.Equal(new OwnerRecord(Six[o.Subunit % 6], 1, OwnerState.Held, nodes[Six[o.Subunit % 6]].CreateRevision), o.Owner));
        Assert.All(agents.Values, a => Assert.False(a.IsLost));
    }

    [Fact]
    public async Task A_lapsed_node_is_revoked_before_survivors_take_its_sub_units_which_spread_and_stay()
    {
        var nodes = await RegisterAsync(shortLived: "3");
        var survivors = nodes.Values.Where(n => n.NodeId != "3").ToList();
        var agents = await StartAgentsAsync(nodes.Values);
        foreach (var node in survivors)
        {
            var fencer = Track(new DeadNodeFencer(Store, node));
            await fencer.StartAsync();
        }

        var volume = await new VolumeDirectory(Store).CreateAsync(Spec("takeover"));
        await using var view = await MetadataOwnershipView.StartAsync(Store, volume);
        var liveness = Track(await MembershipLiveness.StartAsync(Store, volume.Placement));
        await view.WaitAllOwnedAsync().WaitAsync(Wait);
        int[] deadUnits = [.. Enumerable.Range(0, 30).Where(u => u % 6 == 2)];
        Assert.All(deadUnits, u => Assert.Equal(new NodeId(2), view.Owner(u)));
        long before = (await Store.GetRangeAsync(MetadataKeys.Nodes)).Revision;
        var failed = new TaskCompletionSource<NodeId>(TaskCreationOptions.RunContinuationsAsynchronously);
        liveness.NodeFailed += n => failed.TrySetResult(n);
        Assert.True(liveness.IsUp(new NodeId(2)));

        // Node 3 crashes: it stops renewing its lease.
        var dead = nodes["3"];
        await dead.AbandonAsync();
        await agents["3"].DisposeAsync();
        await PassTimeAsync(ShortTtl * 3);
        Assert.Equal(new NodeId(2), await failed.Task.WaitAsync(Wait));
        Assert.False(liveness.IsUp(new NodeId(2)));
        Assert.False(liveness.AcceptsChunkIo(new NodeId(2)));
        await view.WaitAsync(v => deadUnits.All(u => v.Owner(u).Value is >= 0 and not 2)).WaitAsync(Wait);

        // Spread: each of the 5 survivors took exactly one of node 3's 5 sub-units, at epoch 3
        // (1 acquired, 2 revoked, 3 taken over); nothing else moved.
        Assert.Equal(["1", "2", "4", "5", "6"], deadUnits.Select(u => view.OwnerId(u)!).Order(NodeOrder.Instance));
        Assert.All(deadUnits, u => Assert.Equal(3, view.Epoch(u)));
        Assert.All(Enumerable.Range(0, 30).Except(deadUnits), u => Assert.Equal((new NodeId(u % 6), 1L), (view.Owner(u), view.Epoch(u))));

        // The order, from the store's revisions: the node's key went, then each of its sub-units was
        // revoked (at the dead incarnation), and only after that taken by a survivor.
        string marker = MetadataKeys.Root + "zz-marker";
        await Store.PutAsync(marker, Encoding.UTF8.GetBytes("end"));
        var events = new List<WatchEvent>();
        await foreach (var e in Store.WatchAsync(MetadataKeys.Root, before + 1).WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            if (e.Key == marker)
            {
                break;
            }

            events.Add(e);
        }

        long nodeGone = Assert.Single(events, e => e.Key == MetadataKeys.Node("3") && e.Type == WatchEventType.Delete).Revision;
        foreach (int u in deadUnits)
        {
            var changes = events.Where(e => e.Key == MetadataKeys.Owner(volume.Key, u)).ToList();
            Assert.Equal(2, changes.Count);
            var revoked = MetadataJson.Deserialize(changes[0].Value, MetadataJsonContext.Default.OwnerRecord);
            var taken = MetadataJson.Deserialize(changes[1].Value, MetadataJsonContext.Default.OwnerRecord);
            Assert.Equal(new OwnerRecord("3", 2, OwnerState.Revoked, dead.CreateRevision), revoked);
            Assert.Equal((OwnerState.Held, 3L), (taken.State, taken.Epoch));
            Assert.NotEqual("3", taken.Node);
            Assert.True(nodeGone < changes[0].Revision && changes[0].Revision < changes[1].Revision, $"sub-unit {u}: node gone @{nodeGone}, revoked @{changes[0].Revision}, taken @{changes[1].Revision}");
        }

        // The dead incarnation's epoch is stale: its fenced writes are refused, it can acquire nothing.
        var fenceDead = new EpochFencing(Store, dead);
        var staleToken = new OwnershipToken(new SubunitId(volume.Key, 2), "3", 1, events.First(e => e.Key == MetadataKeys.Owner(volume.Key, 2)).CreateRevision);
        Assert.False(await fenceDead.IsCurrentAsync(staleToken));
        Assert.False(await fenceDead.TryCommitFencedAsync(staleToken, [TxnOp.Put(MetadataKeys.Context + volume.Key, Encoding.UTF8.GetBytes("stale"))]));
        Assert.Null(await Store.GetAsync(MetadataKeys.Context + volume.Key));
        Assert.Equal(AcquireFailure.NotMember, (await fenceDead.TryAcquireAsync(new SubunitId(volume.Key + "-other", 0), 0)).Failure);

        // Node 3 comes back as a new incarnation: it steals nothing back, and it is not up until rebuilt.
        var returned = new TaskCompletionSource<NodeId>(TaskCreationOptions.RunContinuationsAsynchronously);
        var rejoined = new TaskCompletionSource<NodeId>(TaskCreationOptions.RunContinuationsAsynchronously);
        liveness.NodeReturned += n => returned.TrySetResult(n);
        liveness.NodeRejoined += n => rejoined.TrySetResult(n);
        var back = Track(await new ClusterMembership(Store).RegisterAsync(Node("3"), LongTtl));
        var agentBack = Track(new OwnershipAgent(Store, back, Clock));
        await agentBack.StartAsync();
        Assert.Equal(0, await agentBack.ReconcileAsync());
        Assert.Equal(new NodeId(2), await returned.Task.WaitAsync(Wait));
        Assert.False(liveness.IsUp(new NodeId(2)));
        liveness.BeginRebuild(new NodeId(2), (volumeId, stripe) => volumeId == volume.Id && stripe < 10);
        Assert.True(liveness.AcceptsChunkIo(new NodeId(2)));
        Assert.True(liveness.IsColumnAvailable(volume.Id, new NodeId(2), 9));
        Assert.False(liveness.IsColumnAvailable(volume.Id, new NodeId(2), 10));
        liveness.EndRebuild(new NodeId(2));
        Assert.Equal(new NodeId(2), await rejoined.Task.WaitAsync(Wait));
        Assert.True(liveness.IsUp(new NodeId(2)));
        Assert.Equal(back.CreateRevision, liveness.Incarnation(new NodeId(2)));
        Assert.All(deadUnits, u => Assert.NotEqual(new NodeId(2), view.Owner(u)));
        Assert.Equal(0, view.VacantCount);
    }

    [Fact]
    public async Task Status_shows_nodes_volumes_owner_shares_and_sub_units_without_a_live_owner()
    {
        var nodes = await RegisterAsync(shortLived: "6");
        var agents = await StartAgentsAsync(nodes.Values);
        var directory = new VolumeDirectory(Store);
        var volume = await directory.CreateAsync(Spec("vol0"));
        await directory.CreateAsync(Spec("idle", 2) with { DataColumns = 2 }, ["1", "2", "3", "4", "7"]);
        await using var view = await MetadataOwnershipView.StartAsync(Store, volume);
        await view.WaitAllOwnedAsync().WaitAsync(Wait);

        // Node 6 dies and nobody fences it (no DeadNodeFencer here): its sub-units are held by a node that is out.
        await nodes["6"].AbandonAsync();
        await PassTimeAsync(ShortTtl * 3);
        await WaitUntilAsync(async () => await Store.GetAsync(MetadataKeys.Node("6")) is null);

        var report = await ClusterStatus.ReadAsync(Store, "test store");
        Assert.Equal("test store", report.Source);
        Assert.Equal(["1", "2", "3", "4", "5", "6", "7"], report.Nodes.Select(n => n.Id));
        Assert.Equal([true, true, true, true, true, false, false], report.Nodes.Select(n => n.Live));
        Assert.Equal(new NodeStatus("2", true, "127.0.0.1:3261", "127.0.0.1:7002", nodes["2"].CreateRevision), report.Nodes[1]);
        Assert.Equal(new NodeStatus("6", false, null, null, 0), report.Nodes[5]);
        Assert.Empty(report.Problems);

        var vol0 = report.Volumes[0];
        Assert.Equal(("vol0", 0, 30L * SubUnitBytes, 4, 30L), (vol0.Name, vol0.Lun, vol0.SizeBytes, vol0.DataColumns, vol0.SubUnits));
        Assert.Equal(Six, vol0.Placement);
        Assert.Equal(Six.Select(id => new OwnerShare(id, id != "6", 5, 1, 1)), vol0.Owners);
        Assert.Equal(5, vol0.WithoutLiveOwnerCount);
        Assert.Equal("5,11,17,23,29", vol0.WithoutLiveOwner);

        // The idle volume: K = 2, so its 512 KiB are 4 one-stripe sub-units, taken round-robin
        // over its placement by nodes 1 to 4 (node 7 never registered and never came up).
        var idle = report.Volumes[1];
        Assert.Equal(("idle", 1, 2), (idle.Name, idle.Lun, idle.DataColumns));
        await WaitUntilAsync(async () => (await ClusterStatus.ReadAsync(Store, "t")).Volumes[1].Owners.Count == 4,
            () => string.Join("; ", agents.Select(a => $"{a.Key}: {a.Value.Completion.Status} {a.Value.Completion.Exception?.InnerException} lost {a.Value.IsLost}")));
        idle = (await ClusterStatus.ReadAsync(Store, "t")).Volumes[1];
        Assert.Equal(4, idle.SubUnits);
        Assert.Equal(["1", "2", "3", "4"], idle.Owners.Select(o => o.Node));
        Assert.All(idle.Owners, o => Assert.Equal((true, 1, 1L, 1L), (o.Live, o.SubUnits, o.MinEpoch, o.MaxEpoch)));
        Assert.Equal((0, ""), (idle.WithoutLiveOwnerCount, idle.WithoutLiveOwner));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time " + explain?.Invoke());
            await Task.Delay(20);
        }
    }
}
