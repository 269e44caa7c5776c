using Tessera.Cluster.Metadata;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>The contract on the embedded store, persisted to a temp directory, on a manual clock.</summary>
public sealed class EmbeddedMetadataStoreTests : MetadataStoreContract, IDisposable
{
    private readonly ManualClockStoreDirectory _store = new("tessera-meta-");

    public void Dispose() => _store.Dispose();

    private protected override Task<IMetadataStore> CreateStoreAsync() => _store.OpenAsync();

    private protected override Task PassTimeAsync(TimeSpan time) => _store.PassTimeAsync(time);
}
