using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;
using Tessera.Cluster.Tests.Metadata;

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
}
