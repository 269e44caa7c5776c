using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Volume;

/// <summary>
/// One node's side of the distributed volumes over TCP (docs/distributed-volume.md §12): its
/// <see cref="ChunkStore"/>, its <see cref="InterNodeServer"/> serving chunk, owner and ordering
/// frames, its links to the peers, and per volume its <see cref="SubUnitOwner"/> and portal view
/// (<see cref="NodeVolume"/>). Ownership and liveness come from outside (the metadata store's
/// records in a real cluster); the host is told of membership changes through
/// <see cref="NodeFailed"/> / <see cref="NodeRejoined"/>, and that it is itself out or back through
/// <see cref="Stop"/> / <see cref="Resume"/>. Usable by one `tessera node` process or, N times, by an
/// in-process cluster on loopback.
/// </summary>
internal sealed class NodeVolumeHost : IAsyncDisposable
{
    /// <summary>An owner part carries up to the iSCSI maximum transfer (32 MiB) plus headers.</summary>
    public const int DefaultMaxPayload = 40 << 20;

    private readonly ConcurrentDictionary<Guid, NodeVolume> _volumes = new();
    private readonly ConcurrentDictionary<RequestId, RemoteCompareAndWriteVote> _votes = new();
    private readonly OrderedPartTable _ordered = new();
    private readonly OwnerFrameHandler _ownerHandler;
    private readonly ColumnRebuilds _rebuilds;
    private readonly InterNodeOptions _options;
    private readonly NetworkJitter? _jitter;
    private readonly ILogger? _log;
    private readonly Timer _deadlines;
    private long _unknownVolumeMessages;

    /// <param name="peers">Inter-node endpoint of every other node (asked on first contact).</param>
    public NodeVolumeHost(NodeId self, ChunkStore store, InterNodeOptions options, INodeLiveness liveness, Func<NodeId, EndPoint> peers,
        NetworkJitter? jitter = null, ILogger? log = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Node != self)
        {
            throw new ArgumentException($"chunk store of {store.Node} given to node {self}", nameof(store));
        }

        Self = self;
        Store = store;
        Liveness = liveness;
        _options = options;
        _jitter = jitter;
        _log = log;
        Links = new PeerLinkSet(peers, options, log);
        Chunks = new RemoteChunkChannel(self, store, Links, liveness);
        Owners = new RemoteOwnerChannel(self, LocalOwner, Links, liveness, _ordered, options.RequestTimeout, jitter);
        Server = new InterNodeServer(options, log);
        _ownerHandler = new OwnerFrameHandler(self, LocalOwner, liveness, Links, _ordered, _votes, options.RequestTimeout, log);
        _rebuilds = new ColumnRebuilds(liveness as StaleColumnLiveness);
        var rebuildHandler = new RebuildFrameHandler(self, _rebuilds, Volume, () => _volumes.Keys, liveness);
        Rebuilds = new ColumnRebuildChannel(self, rebuildHandler, Links, options.RequestTimeout);
        ChunkFrameHandler.RegisterOn(Server, new ChunkFrameHandler(store, liveness));
        RebuildFrameHandler.RegisterOn(Server, rebuildHandler);
        OwnerFrameHandler.RegisterOn(Server, _ownerHandler);
        OrderingFrameHandler.RegisterOn(Server, OrderingFrameHandler.Scoped(DeliverOrdering));
        _deadlines = new Timer(static s => ((NodeVolumeHost)s!).Expire(), this, 1000, 1000);
    }

    /// <summary>Options for a node: the transport defaults, with room for a whole iSCSI transfer in one part.</summary>
    public static InterNodeOptions DefaultOptions(Guid clusterId, NodeId self) => new()
    {
        ClusterId = clusterId,
        NodeId = self.ToString(),
        MaxPayloadLength = DefaultMaxPayload,
        MaxQueuedBytes = 2L * DefaultMaxPayload,
    };

    public NodeId Self { get; }

    public InterNodeOptions Options => _options;

    public ChunkStore Store { get; }

    public INodeLiveness Liveness { get; }

    public PeerLinkSet Links { get; }

    public RemoteChunkChannel Chunks { get; }

    public RemoteOwnerChannel Owners { get; }

    public InterNodeServer Server { get; }

    /// <summary>The stale-column rebuild coordinator's calls to nodes (docs/cluster-node.md, "Stale columns").</summary>
    public ColumnRebuildChannel Rebuilds { get; }

    /// <summary>This node's owner-side rebuild sessions.</summary>
    internal ColumnRebuilds RebuildState => _rebuilds;

    /// <summary>Ordered parts this node sent as portal and still waits for.</summary>
    public int PendingOrderedParts => _ordered.Count;

    /// <summary>Owner votes waiting for a portal's decision.</summary>
    public int PendingVotes => _votes.Count;

    /// <summary>Ordering frames for a volume not open here (dropped).</summary>
    public long UnknownVolumeMessages => Interlocked.Read(ref _unknownVolumeMessages);

    public IEnumerable<NodeVolume> Volumes => _volumes.Values;

    /// <summary>Starts serving peers on <paramref name="endpoint"/> (port 0: any free port).</summary>
    public IPEndPoint Start(IPEndPoint endpoint) => Server.Start(endpoint);

    /// <summary>
    /// Opens <paramref name="layout"/>'s volume here: its chunk file, this node's owner (token ordering
    /// over the control links) and portal view. Every node of the cluster opens it with the same layout.
    /// </summary>
    public NodeVolume OpenVolume(VolumeLayout layout, IOwnershipView ownership)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Store.OpenVolume(layout);
        lock (_volumes)
        {
            if (_volumes.ContainsKey(layout.VolumeId))
            {
                throw new InvalidOperationException($"volume {layout.VolumeId} is already open on {Self}");
            }

            // The owner also sees the stale columns it has rebuilt (owner-local knowledge); portals do not.
            var ownerLiveness = new RebuildingOwnerLiveness(Liveness, Liveness as StaleColumnLiveness, _rebuilds, layout.VolumeId);
            var owner = new SubUnitOwner(Self, layout, ownership, Chunks, ownerLiveness);
            var tokens = new VolumeTokenTransport(Self, layout.VolumeId, owner.Ordering, Links, Liveness, _jitter);
            owner.Ordering.Connect(tokens);
            var view = new DistributedVolume(Self, layout, ownership, Owners, Chunks, Liveness);
            var volume = new NodeVolume(layout, ownership, owner, view, tokens);
            _volumes[layout.VolumeId] = volume;
            return volume;
        }
    }

    public NodeVolume? Volume(Guid id) => _volumes.TryGetValue(id, out NodeVolume? volume) ? volume : null;

    /// <summary>
    /// <paramref name="node"/> is out (its epoch revoked): ordered requests that need it are aborted,
    /// parts it was to answer fail, votes waiting for its decision give up their locks.
    /// </summary>
    public void NodeFailed(NodeId node)
    {
        _rebuilds.DropAll();   // any membership change aborts stale-column rebuilds
        foreach (NodeVolume volume in _volumes.Values)
        {
            volume.Owner.Ordering.NodeFailed(node);
        }

        _ordered.NodeFailed(node);
        _ownerHandler.AbortVotes(node, new NodeUnavailableException(node));
    }

    /// <summary><paramref name="node"/> is back under a new epoch: requests naming it are accepted again.</summary>
    public void NodeRejoined(NodeId node)
    {
        _rebuilds.DropAll();
        foreach (NodeVolume volume in _volumes.Values)
        {
            volume.Owner.Ordering.NodeRejoined(node);
        }
    }

    /// <summary>This node is out: parts waiting here fail, new ones are refused (as a fenced node would).</summary>
    public void Stop()
    {
        _rebuilds.DropAll();
        foreach (NodeVolume volume in _volumes.Values)
        {
            volume.Owner.Ordering.Stop();
        }

        _ownerHandler.AbortVotes(null, new NodeUnavailableException(Self));
    }

    /// <summary>This node is back in service.</summary>
    public void Resume()
    {
        foreach (NodeVolume volume in _volumes.Values)
        {
            volume.Owner.Ordering.Resume();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _deadlines.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        await Links.DisposeAsync().ConfigureAwait(false);
        var stopped = new ObjectDisposedException(nameof(NodeVolumeHost));
        _ordered.FailAll(stopped);
        _ownerHandler.AbortVotes(null, stopped);
    }

    public override string ToString() => $"volume host {Self}";

    private SubUnitOwner? LocalOwner(Guid volume) => _volumes.TryGetValue(volume, out NodeVolume? v) ? v.Owner : null;

    private void DeliverOrdering(Guid volume, OrderingMessage message)
    {
        if (!Liveness.IsUp(Self))
        {
            return; // a node that is out takes no part in ordering
        }

        if (_volumes.TryGetValue(volume, out NodeVolume? v))
        {
            v.Owner.Ordering.Deliver(message);
        }
        else
        {
            Interlocked.Increment(ref _unknownVolumeMessages);
        }
    }

    private void Expire()
    {
        long now = Environment.TickCount64;
        _ordered.Expire(now);
        _ownerHandler.ExpireVotes(now);
    }
}
