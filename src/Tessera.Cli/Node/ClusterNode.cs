using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Iscsi;
using Tessera.Scsi;
using Tessera.Storage;

namespace Tessera.Cli.Node;

/// <summary>What `tessera node` was asked to be.</summary>
internal sealed record ClusterNodeOptions(string Etcd, int Id, int Nodes, IPEndPoint Portal, IPEndPoint Peer, string DataDirectory, NodeSettings Settings);

/// <summary>
/// `tessera node`: one node of a cluster whose metadata store is etcd, one node per process (or
/// machine). Node ids are 1..N; node i is column index i−1 of every volume's placement (the
/// volumes are placed on all N nodes), its target port group, portal group tag and relative
/// target port id are i. The node
/// <list type="bullet">
/// <item>registers with a lease (membership) and runs the dead-node fencer and the ownership agent
///   (sub-units of a departed node are revoked, then taken over by survivors);</item>
/// <item>serves chunk, owner and token-ordering frames to its peers (<see cref="NodeVolumeHost"/>);</item>
/// <item>follows the volume records: each volume becomes a LU of its SCSI target, whose context is the
///   cluster context (<see cref="ContextReplicator"/>) and whose data path is the distributed volume;</item>
/// <item>serves iSCSI on its portal; SendTargets lists every live node's portal.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterNode : IAsyncDisposable
{
    /// <summary>Membership lease: a node that stops renewing is out after this long.</summary>
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan VolumePoll = TimeSpan.FromSeconds(1);

    private const string ClusterIdKey = MetadataKeys.Root + "cluster-id";

    private readonly ClusterNodeOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _log;
    private readonly IMetadataStore _store;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, IPEndPoint> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, ServedVolume> _served = new();
    private readonly HashSet<Guid> _refused = [];   // records placed other than on nodes 1..N (logged once)
    private readonly string[] _placement;
    private readonly LivePortals _portals = new();
    private NodeRegistration? _registration;
    private DeadNodeFencer? _fencer;
    private OwnershipAgent? _agent;
    private ContextReplicator? _replicator;
    private NodeLossHandler? _membershipHandler;
    private MembershipLiveness? _liveness;
    private StaleColumnLiveness? _columns;
    private NodeVolumeHost? _host;
    private ScsiTarget? _target;
    private IscsiTargetServer? _iscsi;
    private Task _membershipLoop = Task.CompletedTask;
    private Task _volumeLoop = Task.CompletedTask;

    private sealed record ServedVolume(VolumeRecord Record, MetadataOwnershipView Ownership, LogicalUnit Unit);

    private ClusterNode(ClusterNodeOptions options, ILoggerFactory loggerFactory)
    {
        _options = options;
        _placement = [.. Enumerable.Range(1, options.Nodes).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        _loggerFactory = loggerFactory;
        _log = loggerFactory.CreateLogger("Tessera.Node");
        _store = MetadataStoreFactory.Open(options.Etcd, options.DataDirectory);
    }

    /// <summary>Written when the node starts serving a volume (the harness and users wait for it).</summary>
    public event Action<VolumeRecord>? Serving;

    public string TargetName => _options.Settings.TargetIqn;

    /// <summary>Completes when this incarnation is out of the cluster (lease lost, or fenced by a committer it did not acknowledge).</summary>
    public Task<Exception?> Lost => _registration?.Lost ?? Task.FromResult<Exception?>(null);

    private string Self => _options.Id.ToString(CultureInfo.InvariantCulture);

    private ushort Port => (ushort)_options.Id;

    public static async Task<ClusterNode> StartAsync(ClusterNodeOptions options, ILoggerFactory loggerFactory, Action<VolumeRecord> serving, CancellationToken cancellationToken)
    {
        var node = new ClusterNode(options, loggerFactory);
        node.Serving += serving;
        try
        {
            await node.JoinAsync(cancellationToken).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        Guid clusterId = await EnsureClusterIdAsync(cancellationToken).ConfigureAwait(false);
        var membership = new ClusterMembership(_store);
        var (before, _) = await membership.ListLiveAsync(cancellationToken).ConfigureAwait(false);
        bool coldStart = before.Count == 0;

        _registration = await RegisterAsync(membership, cancellationToken).ConfigureAwait(false);
        _ = _registration.Lost.ContinueWith(t => _log.LogError("node {Node} lost its membership ({Reason}); its ports are unavailable until it restarts",
            Self, t.Result?.Message ?? "fenced"), TaskScheduler.Default);

        // Peers' inter-node endpoints and iSCSI portals, from membership.
        var listed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _membershipLoop = FollowMembershipAsync(membership, listed, _stop.Token);
        await listed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

        _liveness = await MembershipLiveness.StartAsync(_store, _placement, cancellationToken).ConfigureAwait(false);
        var self = new NodeId(_options.Id - 1);
        var chunks = new ChunkStore(self, Path.Combine(_options.DataDirectory, "chunks"), message => _log.LogWarning("{Message}", message));
        _columns = new StaleColumnLiveness(_liveness, _placement, _store);
        await _columns.RefreshAsync(cancellationToken).ConfigureAwait(false);
        _host = new NodeVolumeHost(self, chunks, NodeVolumeHost.DefaultOptions(clusterId, self), _columns, PeerEndPoint,
            log: _loggerFactory.CreateLogger("Tessera.Volume"));
        _liveness.NodeFailed += n =>
        {
            _log.LogWarning("node {Node} is out: stripes written without it are degraded until it is rebuilt", n.Value + 1);
            _host.NodeFailed(n);
        };
        _liveness.NodeRejoined += n => { _log.LogInformation("node {Node} is back", n.Value + 1); _host.NodeRejoined(n); };
        _liveness.NodeReturned += n => _ = ReturnedAsync(n);
        _host.Start(_options.Peer);

        _fencer = new DeadNodeFencer(_store, _registration);
        _fencer.Fenced += (node, incarnation, count) => _log.LogWarning("revoked {Count} sub-units of node {Node} (incarnation {Incarnation})", count, node, incarnation);
        await _fencer.StartAsync(cancellationToken).ConfigureAwait(false);

        _replicator = new ContextReplicator(_store, _registration, new ClusterContextOptions { LocalTargetPortGroupId = Port, FenceGrace = LeaseTtl });
        _replicator.Fenced += fenced => _log.LogWarning("fenced node {Node}: it did not apply a context change in time", fenced);
        await _replicator.StartAsync(cancellationToken).ConfigureAwait(false);

        _target = new ScsiTarget(TargetName, []);
        _iscsi = new IscsiTargetServer(new IscsiTargetOptions
        {
            TargetName = TargetName,
            TargetAlias = $"tessera-node-{Self}",
            PortalGroupTag = Port,
            RelativeTargetPortId = Port,
            TargetPortGroupId = Port,
            Portals = _portals,
            Chap = _options.Settings.ToIscsiChap(),
        }, _target, _loggerFactory);

        // The first node of a cluster nobody serves: a whole-cluster cold start (SPC-5 power on).
        if (coldStart)
        {
            await OpenVolumesAsync(cancellationToken).ConfigureAwait(false);
            await _replicator.PowerOnAsync(cancellationToken).ConfigureAwait(false);
        }

        _membershipHandler = new NodeLossHandler(_replicator, r => NodePorts.OfNumberedNode(r.Id));
        await _membershipHandler.StartAsync(cancellationToken).ConfigureAwait(false);
        _iscsi.Start(_options.Portal);

        // Ownership only once every placement node is up: an agent cannot tell a node still starting
        // from a dead one, and sub-units taken from a slow starter are not given back.
        _volumeLoop = ServeAsync(_stop.Token);
        _rebuildLoop = RebuildStaleColumnsAsync(_stop.Token);
    }

    private async Task ServeAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!Enumerable.Range(0, _options.Nodes).All(i => _liveness!.IsUp(new NodeId(i))))
            {
                await TakeBackReturnedAsync().ConfigureAwait(false);
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }

            _agent = new OwnershipAgent(_store, _registration!);
            _agent.Acquired += (subunit, epoch) => _log.LogDebug("owns {Subunit} at epoch {Epoch}", subunit, epoch);
            await _agent.StartAsync(cancellationToken).ConfigureAwait(false);

            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await _columns!.RefreshAsync(cancellationToken).ConfigureAwait(false);
                    await TakeBackReturnedAsync().ConfigureAwait(false);
                    await OpenVolumesAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is MetadataStoreException or StorageException or IOException)
                {
                    _log.LogWarning("cannot follow the volumes now: {Message}", ex.Message);
                }

                await Task.Delay(VolumePoll, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "node {Node} stopped following the cluster", Self);
        }
    }

    /// <summary>Makes the presented LUs match the volume records: new ones are opened (and served once every sub-unit has an owner), deleted ones go.</summary>
    private async Task OpenVolumesAsync(CancellationToken cancellationToken)
    {
        var (records, _) = await new VolumeDirectory(_store).ListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var record in records)
        {
            if (_served.ContainsKey(record.Id) || _refused.Contains(record.Id)) continue;
            if (!record.Placement.SequenceEqual(_placement))
            {
                _log.LogError("volume {Name} is placed on nodes {Placement}; this node serves volumes placed on nodes 1..{Nodes} only",
                    record.Name, string.Join(',', record.Placement), _options.Nodes);
                _refused.Add(record.Id);
                continue;
            }

            var ownership = await MetadataOwnershipView.StartAsync(_store, record, cancellationToken).ConfigureAwait(false);
            NodeVolume volume = _host!.OpenVolume(record.ToLayout(), ownership);
            ClusterLuContext context = await _replicator!.OpenAsync(record.Key, NodePorts.InitialContext(_options.Nodes), cancellationToken).ConfigureAwait(false);
            volume.View.IsReadOnly = record.ReadOnly;
            var unit = new LogicalUnit(record.Lun, record.Id, volume.View, context) { PhysicalBlockSize = record.PhysicalBlockSize };
            _served[record.Id] = new ServedVolume(record, ownership, unit);
        }

        foreach (var (id, served) in _served)
        {
            if (records.Any(r => r.Id == id)) continue;
            _target!.RemoveLogicalUnit(served.Record.Lun);
            _served.TryRemove(id, out _);
            await served.Ownership.DisposeAsync().ConfigureAwait(false);
            _log.LogInformation("volume {Name} deleted: LUN {Lun} no longer presented", served.Record.Name, served.Record.Lun);
        }

        // Presented once ownership runs (a cold start opens the LUs earlier, for the power on) and every
        // sub-unit has an owner; membership events that went by before the LU was open are caught up first.
        if (_agent is null) return;
        foreach (var served in _served.Values)
        {
            if (_target!.GetLogicalUnit(served.Record.Lun) is not null) continue;
            await served.Ownership.WaitAllOwnedAsync(cancellationToken).ConfigureAwait(false);
            await _membershipHandler!.ReconcileAsync(cancellationToken).ConfigureAwait(false);
            _target.AddLogicalUnit(served.Unit);
            Serving?.Invoke(served.Record);
        }
    }

    /// <summary>
    /// Registers this node. After a crash (kill -9) the previous incarnation's key lives until its lease
    /// lapses: wait for that rather than fail, up to twice the TTL — longer means another live process
    /// really has this id.
    /// </summary>
    private async Task<NodeRegistration> RegisterAsync(ClusterMembership membership, CancellationToken cancellationToken)
    {
        var record = new NodeRecord(Self, _options.Portal.ToString(), _options.Peer.ToString());
        var deadline = DateTime.UtcNow + (2 * LeaseTtl);
        for (bool logged = false; ; logged = true)
        {
            try
            {
                return await membership.RegisterAsync(record, LeaseTtl, cancellationToken).ConfigureAwait(false);
            }
            catch (NodeIdTakenException) when (DateTime.UtcNow < deadline)
            {
                if (!logged) _log.LogWarning("node {Node} is still registered (a previous run not yet expired?): waiting up to {Ttl} s for its lease to lapse", Self, (2 * LeaseTtl).TotalSeconds);
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A node that was out is back (new incarnation). It serves as portal and owner again at once; if
    /// it missed writes its columns stay stale (parity stands in) until a rebuild clears the record.
    /// </summary>
    /// <summary>A node that came back before this node subscribed to liveness, or whose return could not be handled then, is taken back here.</summary>
    private async Task TakeBackReturnedAsync()
    {
        for (int i = 0; i < _options.Nodes; i++)
        {
            if (_liveness!.StateName(new NodeId(i)) == "returned") await ReturnedAsync(new NodeId(i)).ConfigureAwait(false);
        }
    }

    private async Task ReturnedAsync(NodeId node)
    {
        try
        {
            await _columns!.RefreshAsync(_stop.Token).ConfigureAwait(false);
            lock (_columns)
            {
                // The event and the start-up sweep (ServeAsync) may both get here; only a returned node moves on.
                if (_liveness!.StateName(node) != "returned") return;
                _liveness.BeginRebuild(node, static (_, _) => false);
                _liveness.EndRebuild(node);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex) when (ex is InvalidOperationException or MetadataStoreException)
        {
            _log.LogWarning("node {Node} returned, but cannot take it back yet: {Message}", node.Value + 1, ex.Message);
            return;
        }

        _log.LogWarning("node {Node} is back{Stale}", node.Value + 1,
            _columns.IsStale(node) ? "; it missed writes: its columns stay stale (parity stands in) until it is rebuilt" : "");
    }

    private EndPoint PeerEndPoint(NodeId node)
    {
        string id = (node.Value + 1).ToString(CultureInfo.InvariantCulture);
        return _peers.TryGetValue(id, out IPEndPoint? endpoint)
            ? endpoint
            : throw new NodeUnavailableException(node, new InvalidOperationException($"node {id} has no inter-node endpoint (not a member)"));
    }

    private async Task FollowMembershipAsync(ClusterMembership membership, TaskCompletionSource listed, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var change in membership.WatchAsync(() => listed.TrySetResult(), cancellationToken).ConfigureAwait(false))
            {
                if (change.Kind == MembershipChangeKind.Joined)
                {
                    NodeRecord record = change.Node;
                    if (IPEndPoint.TryParse(record.Peer, out IPEndPoint? peer)) _peers[record.Id] = peer;
                    if (IPEndPoint.TryParse(record.Portal, out IPEndPoint? portal) && NodePorts.OfNumberedNode(record.Id) is { } ports)
                        _portals.Put(record.Id, new PortalAddress(portal, ports.TargetPortGroupId));
                }
                else
                {
                    _portals.Remove(change.NodeId);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            listed.TrySetException(ex);
            _log.LogError(ex, "membership watch ended");
        }
    }

    /// <summary>The cluster's identity (checked in every inter-node Hello): created by the first node ever, read by the others.</summary>
    private async Task<Guid> EnsureClusterIdAsync(CancellationToken cancellationToken)
    {
        byte[] mine = Encoding.UTF8.GetBytes(Guid.NewGuid().ToString("D"));
        var result = await _store.TxnAsync([Compare.Absent(ClusterIdKey)], [TxnOp.Put(ClusterIdKey, mine)], [TxnOp.Get(ClusterIdKey)], cancellationToken).ConfigureAwait(false);
        ReadOnlyMemory<byte> value = result.Succeeded ? mine : result.Responses[0][0].Value;
        return Guid.TryParse(Encoding.UTF8.GetString(value.Span), out Guid id)
            ? id
            : throw new MalformedMetadataException(ClusterIdKey, "not a cluster id");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_iscsi is not null) await _iscsi.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await Task.WhenAll(_volumeLoop, _membershipLoop, _rebuildLoop).ConfigureAwait(false);
        if (_agent is not null) await _agent.DisposeAsync().ConfigureAwait(false);
        if (_membershipHandler is not null) await _membershipHandler.DisposeAsync().ConfigureAwait(false);
        if (_replicator is not null) await _replicator.DisposeAsync().ConfigureAwait(false);
        if (_fencer is not null) await _fencer.DisposeAsync().ConfigureAwait(false);
        foreach (var served in _served.Values)
        {
            await served.Ownership.DisposeAsync().ConfigureAwait(false);
        }

        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(false);
            await _host.Store.DisposeAsync().ConfigureAwait(false);   // flushes every chunk file
        }

        if (_liveness is not null) await _liveness.DisposeAsync().ConfigureAwait(false);
        if (_registration is not null) await _registration.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }
}
