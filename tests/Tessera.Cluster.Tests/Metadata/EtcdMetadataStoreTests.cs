using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>The contract on a real etcd process (one per class; the keyspace is wiped per test).</summary>
public sealed class EtcdMetadataStoreTests(EtcdServer etcd) : MetadataStoreContract, IClassFixture<EtcdServer>
{
    private protected override async Task<IMetadataStore> CreateStoreAsync()
    {
        var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        await store.TxnAsync([], [TxnOp.DeletePrefix("")], []);
        return store;
    }

    private protected override Task PassTimeAsync(TimeSpan time) => Task.Delay(time);
}
