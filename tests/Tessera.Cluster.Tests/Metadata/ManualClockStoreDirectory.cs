using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>An embedded store's temp directory and the manual clock its leases run on, for the contract tests.</summary>
internal sealed class ManualClockStoreDirectory(string prefix) : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

    public ManualTimeProvider Time { get; } = new();

    public Task<IMetadataStore> OpenAsync() => Task.FromResult<IMetadataStore>(EmbeddedMetadataStore.Open(_directory, Time));

    /// <summary>Small steps, like real time, so timers fire in order.</summary>
    public Task PassTimeAsync(TimeSpan time)
    {
        var step = TimeSpan.FromMilliseconds(100);
        for (var passed = TimeSpan.Zero; passed < time; passed += step)
        {
            Time.Advance(step);
        }

        return Task.CompletedTask;
    }

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
}
