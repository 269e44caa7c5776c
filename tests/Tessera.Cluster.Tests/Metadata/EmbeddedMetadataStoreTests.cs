using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>The contract on the embedded store, persisted to a temp directory, on a manual clock.</summary>
public sealed class EmbeddedMetadataStoreTests : MetadataStoreContract, IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-meta-" + Guid.NewGuid().ToString("N"));

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
        // Small steps, like real time, so timers fire in order.
        var step = TimeSpan.FromMilliseconds(100);
        for (var passed = TimeSpan.Zero; passed < time; passed += step)
        {
            _time.Advance(step);
        }

        return Task.CompletedTask;
    }
}
