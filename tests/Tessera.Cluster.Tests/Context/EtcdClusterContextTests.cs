using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;
using Tessera.Cluster.Tests.Metadata;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>The cluster context contract on a real etcd (the Metadata tests' fixture; keyspace wiped per test).</summary>
public sealed class EtcdClusterContextTests(EtcdServer etcd) : ClusterContextContract, IClassFixture<EtcdServer>
{
    /// <summary>Every change is a few etcd round trips (Raft commit + fsync): a shorter loop keeps the suite quick.</summary>
    protected override int Iterations => 100;

    private protected override async Task<IMetadataStore> CreateStoreAsync()
    {
        var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        await store.TxnAsync([], [TxnOp.DeletePrefix("")], []);
        return store;
    }

    [Fact]
    public async Task WhileTheStoreIsUnreachableChangesFailAndTheAppliedCopyStillServes()
    {
        await (await CreateStoreAsync()).DisposeAsync(); // wipes the keyspace
        await using var store = EtcdMetadataStore.Connect(etcd.Endpoint, new EtcdStoreOptions { RequestTimeout = TimeSpan.FromSeconds(3) });
        // A lease TTL well beyond the outage: this test is about failing commands, not about self-fencing.
        await using var cluster = await ContextCluster.StartAsync(store, 3, leaseTtl: TimeSpan.FromSeconds(30));
        uint before = await cluster[1].Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 1));

        etcd.Kill();
        try
        {
            var failure = await Assert.ThrowsAsync<LuContextUnavailableException>(async () =>
                await cluster[2].Context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusB, 2)));
            Assert.IsAssignableFrom<MetadataStoreException>(failure.InnerException);
            // The I/O path keeps reading the applied copy.
            Assert.All(cluster.Nodes, n => Assert.Equal(before, n.Context.Current.PersistentReservations.Generation));
        }
        finally
        {
            await etcd.StartAsync();
        }

        // Back: watches resume and the next change commits and reaches every node. The client channel may
        // still be in its reconnect back-off, so retry as a host would — with an idempotent change, since a
        // failed attempt may have committed.
        uint after = 0;
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); ; await Task.Delay(200))
        {
            try
            {
                after = await cluster[3].Context.ChangeAsync(s => s.PersistentReservations.Registrations.Any(r => r.NexusKey == LuStateJsonTests.NexusB)
                    ? (s, s.PersistentReservations.Generation)
                    : TestChanges.Register(s, LuStateJsonTests.NexusB, 3));
                break;
            }
            catch (LuContextUnavailableException) when (DateTime.UtcNow < deadline)
            {
            }
        }

        Assert.Equal(before + 1, after);
        Assert.All(cluster.Nodes, n => Assert.Equal(after, n.Context.Current.PersistentReservations.Generation));
    }
}
