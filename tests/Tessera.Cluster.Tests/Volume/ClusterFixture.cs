using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>An in-process cluster (direct calls or loopback TCP) in its own temp directory, with one volume; deleted on dispose.</summary>
internal sealed class ClusterFixture : IAsyncDisposable
{
    // Small geometry so a test touches every stripe, sub-unit boundary and placement quickly:
    // 4 KiB chunks (RDP p = 5, 1 KiB blocks), 16 KiB stripes, 4 stripes = 64 KiB per sub-unit.
    public const int SmallChunk = 4096;
    public const int SmallStripesPerSubUnit = 4;

    private ClusterFixture(string root, InProcessCluster cluster, ClusterVolume volume)
    {
        Root = root;
        Cluster = cluster;
        Volume = volume;
    }

    public string Root { get; }

    public InProcessCluster Cluster { get; }

    public ClusterVolume Volume { get; }

    public VolumeLayout Layout => Volume.Layout;

    public static ClusterFixture Create(long sizeBytes = 2 << 20, int nodes = 6, int blockSize = 512, int dataColumns = 4,
        int chunkSize = SmallChunk, int stripesPerSubUnit = SmallStripesPerSubUnit, int? jitterSeed = null, Wire wire = Wire.Direct)
    {
        string root = Path.Combine(Path.GetTempPath(), "tessera-dv-" + Guid.NewGuid().ToString("N"));
        var cluster = new InProcessCluster(root, nodes, jitterSeed, Transport(wire));
        ClusterVolume volume = cluster.CreateVolume(sizeBytes, blockSize, dataColumns, chunkSize, stripesPerSubUnit);
        return new ClusterFixture(root, cluster, volume);
    }

    public DistributedVolume View(int node) => Volume.Views[node];

    public static InProcessTransport Transport(Wire wire) => wire == Wire.Tcp ? InProcessTransport.Tcp : InProcessTransport.Direct;

    /// <summary>Over TCP: no ordered part, vote or unknown-volume message is left behind on any node.</summary>
    public void AssertNothingPendingOnTheWire()
    {
        foreach (NodeVolumeHost host in Cluster.Hosts ?? [])
        {
            Assert.Equal(0, host.PendingOrderedParts);
            Assert.Equal(0, host.PendingVotes);
            Assert.Equal(0, host.UnknownVolumeMessages);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
