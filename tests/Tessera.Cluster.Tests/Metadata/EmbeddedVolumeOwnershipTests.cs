using Tessera.Cluster.Metadata;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>Volumes, ownership, takeover and status on the embedded store (temp directory, manual clock).</summary>
public sealed class EmbeddedVolumeOwnershipTests : VolumeOwnershipContract, IDisposable
{
    private readonly ManualClockStoreDirectory _store = new("tessera-vol-");

    private protected override TimeProvider Clock => _store.Time;

    public void Dispose() => _store.Dispose();

    private protected override Task<IMetadataStore> CreateStoreAsync() => _store.OpenAsync();

    private protected override Task PassTimeAsync(TimeSpan time) => _store.PassTimeAsync(time);
}
