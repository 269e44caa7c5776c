using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>Volumes, ownership, takeover and status on the embedded store (temp directory, manual clock).</summary>
public sealed class EmbeddedVolumeOwnershipTests : VolumeOwnershipContract, IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-vol-" + Guid.NewGuid().ToString("N"));

    private protected override TimeProvider Clock => _time;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private protected override Task<IMetadataStore> CreateStoreAsync() =>
        Task.FromResult<IMetadataStore>(EmbeddedMetadataStore.Open(_directory, _time));

    private protected override Task PassTimeAsync(TimeSpan time)
    {
        var step = TimeSpan.FromMilliseconds(100);
        for (var passed = TimeSpan.Zero; passed < time; passed += step)
        {
            _time.Advance(step);
        }

        return Task.CompletedTask;
    }
}
