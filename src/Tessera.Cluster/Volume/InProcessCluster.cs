using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// N nodes in one process (the data path of `tessera up`, and the test fixture): each node has its
/// own chunk store under <c>root/node-i</c>; every volume gets an owner and a portal view per node,
/// wired with in-process channels (direct calls) and an in-process token transport. Ownership is an
/// <see cref="InMemoryOwnershipView"/> per volume. <see cref="MarkDown"/> takes a node out the way
/// the metadata store will: it stops answering, its sub-units move to live nodes under new epochs,
/// and the survivors' token-ordering nodes are told.
/// </summary>
internal sealed class InProcessCluster : INodeLiveness, IAsyncDisposable
{
    public const int DefaultNodeCount = 6;

    private readonly bool[] _down;
    private readonly List<ClusterVolume> _volumes = [];

    /// <param name="jitterSeed">When set, owner parts and token messages are delivered after seeded random thread-pool hops (reordering).</param>
    public InProcessCluster(string root, int nodeCount = DefaultNodeCount, int? jitterSeed = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        Root = root;
        _down = new bool[nodeCount];
        var stores = new ChunkStore[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            stores[i] = new ChunkStore(new NodeId(i), Path.Combine(root, $"node-{i}"));
        }

        Stores = stores;
        Jitter = jitterSeed is { } seed ? new NetworkJitter(seed) : null;
        Chunks = new LocalChunkChannel(stores, this);
    }

    public string Root { get; }

    public int NodeCount => _down.Length;

    public IReadOnlyList<ChunkStore> Stores { get; }

    public IChunkChannel Chunks { get; }

    public NetworkJitter? Jitter { get; }

    public IReadOnlyList<ClusterVolume> Volumes => _volumes;

    public bool IsUp(NodeId node) => (uint)node.Value < (uint)_down.Length && !Volatile.Read(ref _down[node.Value]);

    public ClusterVolume CreateVolume(long sizeBytes, int blockSize = 512, int dataColumns = VolumeLayout.DefaultDataColumns,
        int chunkSize = VolumeLayout.DefaultChunkSize, int stripesPerSubUnit = VolumeLayout.DefaultStripesPerSubUnit, Guid? id = null)
    {
        var layout = new VolumeLayout(id ?? Guid.NewGuid(), sizeBytes, blockSize, NodeCount, dataColumns, chunkSize, stripesPerSubUnit);
        if (_volumes.Exists(v => v.Layout.VolumeId == layout.VolumeId))
        {
            throw new InvalidOperationException($"volume {layout.VolumeId} already exists in this cluster");
        }

        foreach (ChunkStore store in Stores)
        {
            store.OpenVolume(layout);
        }

        var volume = new ClusterVolume(this, layout);
        lock (_volumes)
        {
            _volumes.Add(volume);
        }

        return volume;
    }

    /// <summary>
    /// Takes <paramref name="node"/> out: its chunks stop answering, each of its sub-units moves to the
    /// next live node (new epoch), and every survivor aborts ordered requests that depended on it.
    /// </summary>
    public void MarkDown(NodeId node)
    {
        Volatile.Write(ref _down[node.Value], true);
        foreach (ClusterVolume volume in _volumes)
        {
            volume.Ownership.ReassignAll(node, u => NextUp(node));

            // Calls in flight into the dead node fail, as they would when its process dies.
            volume.Owners[node.Value].Ordering.Stop();
            for (int i = 0; i < NodeCount; i++)
            {
                if (IsUp(new NodeId(i)))
                {
                    volume.Owners[i].Ordering.NodeFailed(node);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ChunkStore store in Stores)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }

    private NodeId NextUp(NodeId from)
    {
        for (int step = 1; step <= NodeCount; step++)
        {
            var candidate = new NodeId((from.Value + step) % NodeCount);
            if (IsUp(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("no node is up");
    }
}
