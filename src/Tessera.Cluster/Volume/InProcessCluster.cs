using System.Net;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// N nodes in one process (the data path of `tessera up`, and the test fixture): each node has its
/// own chunk store under <c>root/node-i</c>; every volume gets an owner and a portal view per node,
/// wired with in-process channels (direct calls) and an in-process token transport, or — with
/// <see cref="InProcessTransport.Tcp"/> — each node a <see cref="NodeVolumeHost"/> talking to the
/// others over 127.0.0.1 TCP with the inter-node protocol. Ownership is an
/// <see cref="InMemoryOwnershipView"/> per volume. <see cref="MarkDown"/> takes a node out the way
/// the metadata store will: it stops answering, its sub-units move to live nodes under new epochs,
/// and the survivors' token-ordering nodes are told.
/// </summary>
internal sealed class InProcessCluster : INodeLiveness, IAsyncDisposable
{
    public const int DefaultNodeCount = 6;

    private const int Up = 0, Down = 1, Rebuilding = 2;

    private readonly int[] _state;
    private readonly List<ClusterVolume> _volumes = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, ClusterVolume> _byId = new();

    private readonly NodeVolumeHost[]? _hosts;

    /// <param name="jitterSeed">When set, owner parts and token messages are delivered after seeded random thread-pool hops (reordering).</param>
    /// <param name="transport">Direct calls between nodes, or the inter-node protocol over loopback TCP.</param>
    public InProcessCluster(string root, int nodeCount = DefaultNodeCount, int? jitterSeed = null, InProcessTransport transport = InProcessTransport.Direct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        Root = root;
        _state = new int[nodeCount];
        var stores = new ChunkStore[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            stores[i] = new ChunkStore(new NodeId(i), Path.Combine(root, $"node-{i}"));
        }

        Stores = stores;
        Jitter = jitterSeed is { } seed ? new NetworkJitter(seed) : null;
        Transport = transport;
        if (transport == InProcessTransport.Direct)
        {
            Chunks = new LocalChunkChannel(stores, this);
            return;
        }

        var clusterId = Guid.NewGuid();
        var endpoints = new IPEndPoint[nodeCount];
        _hosts = new NodeVolumeHost[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            var node = new NodeId(i);
            _hosts[i] = new NodeVolumeHost(node, stores[i], NodeVolumeHost.DefaultOptions(clusterId, node), this, peer => endpoints[peer.Value], Jitter);
            endpoints[i] = _hosts[i].Start(new IPEndPoint(IPAddress.Loopback, 0));
        }

        Chunks = _hosts[0].Chunks;
    }

    public InProcessTransport Transport { get; }

    /// <summary>The nodes' hosts over TCP (<see cref="InProcessTransport.Tcp"/>), else null.</summary>
    public IReadOnlyList<NodeVolumeHost>? Hosts => _hosts;

    public string Root { get; }

    public int NodeCount => _state.Length;

    public IReadOnlyList<ChunkStore> Stores { get; }

    public IChunkChannel Chunks { get; }

    public NetworkJitter? Jitter { get; }

    public IReadOnlyList<ClusterVolume> Volumes => _volumes;

    public bool IsUp(NodeId node) => State(node) == Up;

    public bool AcceptsChunkIo(NodeId node) => State(node) is Up or Rebuilding;

    public bool IsColumnAvailable(Guid volume, NodeId node, long stripe) => State(node) switch
    {
        Up => true,
        Rebuilding => _byId.TryGetValue(volume, out ClusterVolume? v) && v.IsRebuilt(node, stripe),
        _ => false,
    };

    private int State(NodeId node) => (uint)node.Value < (uint)_state.Length ? Volatile.Read(ref _state[node.Value]) : Down;

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
            _byId[layout.VolumeId] = volume;
        }

        return volume;
    }

    /// <summary>
    /// Takes <paramref name="node"/> out: its chunks stop answering, each of its sub-units moves to a
    /// live node (spread over the survivors, new epoch), and every survivor aborts ordered requests
    /// that depended on it.
    /// </summary>
    public void MarkDown(NodeId node)
    {
        Volatile.Write(ref _state[node.Value], Down);
        foreach (ClusterVolume volume in _volumes)
        {
            // Spread the orphaned sub-units over the survivors rather than piling them on one node.
            NodeId[] live = Enumerable.Range(0, NodeCount).Select(i => new NodeId(i)).Where(IsUp).ToArray();
            if (live.Length == 0)
            {
                throw new InvalidOperationException("no node is up");
            }

            volume.Ownership.ReassignAll(node, u => live[(int)(u % live.Length)]);
            if (_hosts is not null)
            {
                continue;
            }

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

        if (_hosts is not null)
        {
            // Over TCP each host does the same for all its volumes, and also fails the parts and votes
            // it was waiting for from the node that left.
            _hosts[node.Value].Stop();
            for (int i = 0; i < NodeCount; i++)
            {
                if (IsUp(new NodeId(i)))
                {
                    _hosts[i].NodeFailed(node);
                }
            }
        }
    }

    /// <summary>
    /// Brings a node that was marked down back (same node id, its chunk store stale or empty — a
    /// replacement disk): every column it holds is recomputed from the others stripe by stripe under
    /// the owner's stripe lock while I/O goes on. Stripes already rebuilt take writes and serve reads
    /// on the node at once; the rest stay degraded until their turn. Ownership stays where it moved.
    /// </summary>
    public async Task RebuildAsync(NodeId node, CancellationToken cancellationToken = default)
    {
        if (State(node) != Down)
        {
            throw new InvalidOperationException($"node {node} is not down");
        }

        foreach (ClusterVolume volume in _volumes)
        {
            volume.BeginRebuild(node);
        }

        Volatile.Write(ref _state[node.Value], Rebuilding);
        foreach (ClusterVolume volume in _volumes)
        {
            await volume.RebuildAsync(node, cancellationToken).ConfigureAwait(false);
        }

        Volatile.Write(ref _state[node.Value], Up);
        if (_hosts is not null)
        {
            _hosts[node.Value].Resume();
            for (int i = 0; i < NodeCount; i++)
            {
                if (i != node.Value)
                {
                    _hosts[i].NodeRejoined(node);
                }
            }

            return;
        }

        foreach (ClusterVolume volume in _volumes)
        {
            volume.Owners[node.Value].Ordering.Resume();
            for (int i = 0; i < NodeCount; i++)
            {
                if (i != node.Value)
                {
                    volume.Owners[i].Ordering.NodeRejoined(node);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_hosts is not null)
        {
            foreach (NodeVolumeHost host in _hosts)
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }
        }

        foreach (ChunkStore store in Stores)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }
}
