using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Context;

/// <summary>The cluster context contract on the embedded store (in memory; N nodes in one process share it).</summary>
public sealed class EmbeddedClusterContextTests : ClusterContextContract
{
    private protected override Task<IMetadataStore> CreateStoreAsync() =>
        Task.FromResult<IMetadataStore>(EmbeddedMetadataStore.Open(null));
}
