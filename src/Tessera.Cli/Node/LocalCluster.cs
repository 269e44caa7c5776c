using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Volume;
using Tessera.Iscsi;
using Tessera.Scsi;
using Tessera.Storage;

namespace Tessera.Cli.Node;

/// <summary>
/// `tessera up --nodes N`: N nodes in one process on the embedded metadata store (persisted under
/// DATA/cluster/metadata). Every catalog volume becomes a distributed 4+2 double-parity volume over
/// the N nodes' chunk stores; node i serves every LU through its own portal (PORT+i−1, portal group
/// tag, relative target port id and target port group i). Each node is a member with a lease and has
/// its own <see cref="ContextReplicator"/>, so every LU's SCSI context is the cluster context: a
/// change commits in the store and is applied on every node before it completes, exactly as with one
/// process per node on etcd. Volumes are read once at start.
/// </summary>
internal sealed class LocalCluster : IServingNode
{
    /// <summary>Membership lease; in one process a node only misses renewals when the process stalls.</summary>
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(10);

    private readonly InProcessCluster _cluster;
    private readonly IMetadataStore _store;
    private readonly List<NodeRegistration> _registrations = [];
    private readonly List<ContextReplicator> _replicators = [];
    private readonly List<NodeLossHandler> _membershipHandlers = [];
    private readonly List<OwnershipAgent> _agents = [];
    private DeadNodeFencer? _fencer;
    private readonly List<IscsiTargetServer> _servers = [];
    private readonly VolumeCatalog _catalog;
    private readonly ILogger _log;

    private LocalCluster(VolumeCatalog catalog, NodeSettings settings, IPEndPoint firstPortal, int nodes, ILoggerFactory loggerFactory)
    {
        _catalog = catalog;
        _log = loggerFactory.CreateLogger("Tessera.Cluster");
        TargetName = settings.TargetIqn;
        string root = Path.Combine(catalog.DataDirectory, "cluster");
        _cluster = new InProcessCluster(root, nodes);
        _store = MetadataStoreFactory.Open(null, catalog.DataDirectory);   // DATA/metadata, where `tessera status --data` reads it
        Volumes = catalog.List();
        Portals = [.. Enumerable.Range(0, nodes).Select(i =>
            new PortalAddress(new IPEndPoint(firstPortal.Address, firstPortal.Port + i), PortOf(i)))];
    }

    public string TargetName { get; }

    public IReadOnlyList<VolumeInfo> Volumes { get; }

    public IReadOnlyList<PortalAddress> Portals { get; }

    public IReadOnlyList<IPEndPoint> PortalEndPoints => [.. Portals.Select(p => p.EndPoint)];

    /// <summary>Node i's portal group tag, relative target port id and target port group id: one port per node.</summary>
    private static ushort PortOf(int node) => (ushort)(node + 1);

    /// <summary>Node ids are 1..N, as for `tessera node`: node i is column i−1 of every placement.</summary>
    private static string NodeIdOf(int node) => (node + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<LocalCluster> OpenAsync(VolumeCatalog catalog, NodeSettings settings, IPEndPoint firstPortal, int nodes,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var cluster = new LocalCluster(catalog, settings, firstPortal, nodes, loggerFactory);
        try
        {
            await cluster.JoinAsync(settings, loggerFactory, cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task JoinAsync(NodeSettings settings, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        int nodes = Portals.Count;
        await ForgetPreviousIncarnationsAsync(cancellationToken).ConfigureAwait(false);

        if (Volumes.FirstOrDefault(v => v.DataColumns + 2 > nodes) is { } tooWide)
        {
            throw new StorageException($"volume {tooWide.Name} has {tooWide.DataColumns} data columns: its stripes need {tooWide.DataColumns + 2} nodes, this cluster has {nodes}");
        }

        var views = Volumes.ToDictionary(v => v.Id, v => _cluster.CreateVolume(v.SizeBytes, v.BlockSize, v.DataColumns, id: v.Id));

        // A fresh LU's context already lists every node's target port group (one port each).
        var initial = NodePorts.InitialContext(nodes);

        var chap = settings.ToIscsiChap();
        for (int i = 0; i < nodes; i++)
        {
            var record = new NodeRecord(NodeIdOf(i), Portals[i].EndPoint.ToString(), "in-process");
            var registration = await new ClusterMembership(_store).RegisterAsync(record, LeaseTtl, cancellationToken).ConfigureAwait(false);
            _registrations.Add(registration);
            var replicator = new ContextReplicator(_store, registration, new ClusterContextOptions
            {
                LocalTargetPortGroupId = PortOf(i),
                FenceGrace = LeaseTtl,
            });
            _replicators.Add(replicator);
            int node = i;
            replicator.Fenced += fenced => _log.LogWarning("node {Node} fenced {Fenced}: it did not apply a context change in time", NodeIdOf(node), fenced);
            _ = registration.Lost.ContinueWith(t => _log.LogError("node {Node} lost its membership ({Reason}); its ports are unavailable",
                NodeIdOf(node), t.Result?.Message ?? "left"), TaskScheduler.Default);
            await replicator.StartAsync(cancellationToken).ConfigureAwait(false);

            var units = new List<LogicalUnit>();
            foreach (var v in Volumes)
            {
                ClusterLuContext context = await replicator.OpenAsync(VolumeRecord.KeyOf(v.Id), initial, cancellationToken).ConfigureAwait(false);
                views[v.Id].Views[i].IsReadOnly = v.ReadOnly;
                units.Add(new LogicalUnit(v.Lun, v.Id, views[v.Id].Views[i], context) { PhysicalBlockSize = v.PhysicalBlockSize });
            }

            _servers.Add(new IscsiTargetServer(new IscsiTargetOptions
            {
                TargetName = settings.TargetIqn,
                TargetAlias = $"tessera-{settings.NodeId}-{i + 1}",
                PortalGroupTag = PortOf(i),
                RelativeTargetPortId = PortOf(i),
                TargetPortGroupId = PortOf(i),
                Portals = Portals,
                Chap = chap,
            }, new ScsiTarget(settings.TargetIqn, units), loggerFactory));
        }

        // Every node of the cluster starts in this process: a whole-cluster cold start, so the LUs
        // power on (SPC-5: no I_T nexus, reservations only with APTPL) before any portal listens.
        await _replicators[0].PowerOnAsync(cancellationToken).ConfigureAwait(false);

        await RecordVolumesAndOwnersAsync(cancellationToken).ConfigureAwait(false);

        // Membership drives ALUA: a node that joins is active/optimized, one that leaves unavailable
        // with its I_T nexuses lost — committed by every survivor (idempotent).
        foreach (var replicator in _replicators)
        {
            var handler = new NodeLossHandler(replicator, record => NodePorts.OfNumberedNode(record.Id));
            _membershipHandlers.Add(handler);
            await handler.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The store mirrors what this process serves, so `tessera status --data` shows it: a volume record
    /// per catalog volume (placed on nodes 1..N) and sub-unit owners with epochs, acquired by each
    /// node's ownership agent — u mod N, the same owners the in-process data path uses. Records of a
    /// previous run's incarnations are revoked first (the fencer's sweep), so the agents can take them.
    /// </summary>
    private async Task RecordVolumesAndOwnersAsync(CancellationToken cancellationToken)
    {
        var directory = new VolumeDirectory(_store);
        string[] placement = [.. Enumerable.Range(0, Portals.Count).Select(NodeIdOf)];
        var (records, _) = await directory.ListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var gone in records.Where(r => !Volumes.Any(v => v.Id == r.Id)))
        {
            await directory.DeleteAsync(gone.Name, cancellationToken).ConfigureAwait(false);
        }

        foreach (var v in Volumes.Where(v => !records.Any(r => r.Id == v.Id)))
        {
            await directory.CreateAsync(new VolumeSpec(v.Name, v.SizeBytes)
            {
                Id = v.Id,
                Lun = v.Lun,
                BlockSize = v.BlockSize,
                PhysicalBlockSize = v.PhysicalBlockSize,
                ReadOnly = v.ReadOnly,
                DataColumns = v.DataColumns,
            }, placement, cancellationToken).ConfigureAwait(false);
        }

        _fencer = new DeadNodeFencer(_store, _registrations[0]);
        await _fencer.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var registration in _registrations)
        {
            var agent = new OwnershipAgent(_store, registration);
            _agents.Add(agent);
            await agent.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// This process is the only one using the embedded store, so node keys still present are those of
    /// a previous run (killed before its leases lapsed): end them now instead of waiting a TTL.
    /// </summary>
    private async Task ForgetPreviousIncarnationsAsync(CancellationToken cancellationToken)
    {
        var previous = await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false);
        foreach (var entry in previous.Entries.Where(e => e.Lease != 0))
        {
            await _store.RevokeLeaseAsync(entry.Lease, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Start()
    {
        for (int i = 0; i < _servers.Count; i++) _servers[i].Start(Portals[i].EndPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_servers.Select(s => s.StopAsync(TimeSpan.FromSeconds(2)).AsTask())).ConfigureAwait(false);
        foreach (var agent in _agents) await agent.DisposeAsync().ConfigureAwait(false);
        if (_fencer is not null) await _fencer.DisposeAsync().ConfigureAwait(false);
        foreach (var handler in _membershipHandlers) await handler.DisposeAsync().ConfigureAwait(false);
        foreach (var replicator in _replicators) await replicator.DisposeAsync().ConfigureAwait(false);
        foreach (var registration in _registrations) await registration.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        await _cluster.DisposeAsync().ConfigureAwait(false);
        _catalog.Dispose();
    }
}
