using System.Diagnostics;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Cluster.Metadata.Etcd;
using Tessera.Cluster.Tests.Metadata;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Context;

/// <summary>
/// Measures the latency of one context change (commit + every node applied and acknowledged) with 3 and 6
/// nodes and prints it; it asserts behaviour (every node holds each change on return), never time.
/// Run: dotnet test tests/Tessera.Cluster.Tests --filter FullyQualifiedName~ContextLatency --logger "console;verbosity=detailed"
/// </summary>
public abstract class ContextLatencyMeasurements(ITestOutputHelper output)
{
    private const int Warmup = 30;
    private const int Measured = 300;

    private protected abstract Task<IMetadataStore> CreateStoreAsync();

    protected abstract string StoreName { get; }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public async Task ChangeLatency(int nodes)
    {
        await using var store = await CreateStoreAsync();
        await using var cluster = await ContextCluster.StartAsync(store, nodes);
        var samples = new double[Measured];
        for (int i = 0; i < Warmup + Measured; i++)
        {
            var via = cluster.Nodes[i % nodes];
            string nexus = $"iqn.2026-01.io.test:h{i % 4},i,0x000000000001,t,0x{via.Index:x4}";
            long start = Stopwatch.GetTimestamp();
            uint generation = await via.Context.ChangeAsync(s => TestChanges.Reregister(s, nexus, (ulong)i));
            var elapsed = Stopwatch.GetElapsedTime(start);
            Assert.All(cluster.Nodes, n => Assert.Equal(generation, n.Context.Current.PersistentReservations.Generation));
            if (i >= Warmup)
            {
                samples[i - Warmup] = elapsed.TotalMilliseconds;
            }
        }

        Array.Sort(samples);
        output.WriteLine($"context change, {StoreName}, {nodes} nodes: mean {samples.Average():F2} ms, p50 {samples[Measured / 2]:F2} ms, p99 {samples[Measured * 99 / 100]:F2} ms, max {samples[^1]:F2} ms ({Measured} changes)");
    }
}

public sealed class EmbeddedContextLatency(ITestOutputHelper output) : ContextLatencyMeasurements(output)
{
    protected override string StoreName => "embedded (in memory)";

    private protected override Task<IMetadataStore> CreateStoreAsync() => Task.FromResult<IMetadataStore>(EmbeddedMetadataStore.Open(null));
}

public sealed class EmbeddedDurableContextLatency(ITestOutputHelper output) : ContextLatencyMeasurements(output), IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-context-lat-" + Guid.NewGuid().ToString("N"));

    protected override string StoreName => "embedded (persisted, fsync per commit)";

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

    private protected override Task<IMetadataStore> CreateStoreAsync() => Task.FromResult<IMetadataStore>(EmbeddedMetadataStore.Open(_directory));
}

public sealed class EtcdContextLatency(EtcdServer etcd, ITestOutputHelper output) : ContextLatencyMeasurements(output), IClassFixture<EtcdServer>
{
    protected override string StoreName => "etcd (one member, all nodes on one client connection)";

    private protected override async Task<IMetadataStore> CreateStoreAsync()
    {
        var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        await store.TxnAsync([], [TxnOp.DeletePrefix("")], []);
        return store;
    }
}
