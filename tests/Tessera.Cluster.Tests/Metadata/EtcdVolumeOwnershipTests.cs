using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>Volumes, ownership, takeover and status on a real etcd (the keyspace is wiped per test).</summary>
public sealed class EtcdVolumeOwnershipTests(EtcdServer etcd) : VolumeOwnershipContract, IClassFixture<EtcdServer>
{
    private protected override TimeProvider Clock => TimeProvider.System;

    private protected override async Task<IMetadataStore> CreateStoreAsync()
    {
        var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        await store.TxnAsync([], [TxnOp.DeletePrefix("")], []);
        return store;
    }

    private protected override Task PassTimeAsync(TimeSpan time) => Task.Delay(time);
}
