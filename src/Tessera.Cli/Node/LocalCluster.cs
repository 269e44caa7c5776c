using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Volume;
using Tessera.Iscsi;
using Tessera.Scsi;
using Tessera.Storage;

namespace Tessera.Cli.Node;

/// <summary>
/// `tessera up --nodes N`: N nodes in one process. Every catalog volume becomes a distributed
/// 4+2 double-parity volume over the N nodes' chunk stores; node i serves every LU through its
/// own portal (port + i, TPGT i+1) from its own view of the volume. In one process the nodes
/// share one LU context object per LU, which is trivially one SCSI context; the cluster
/// context over the metadata store (Tessera.Cluster.Context) replaces it when nodes run as
/// separate processes. Volumes are read once at start.
/// </summary>
internal sealed class LocalCluster : IServingNode
{
    private readonly InProcessCluster _cluster;
    private readonly List<IscsiTargetServer> _servers = [];
    private readonly VolumeCatalog _catalog;

    public LocalCluster(VolumeCatalog catalog, NodeSettings settings, IPEndPoint firstPortal, int nodes, ILoggerFactory loggerFactory)
    {
        _catalog = catalog;
        TargetName = settings.TargetIqn;
        _cluster = new InProcessCluster(Path.Combine(catalog.DataDirectory, "cluster"), nodes);
        Volumes = catalog.List();
        var contexts = new Dictionary<Guid, LocalLuContext>();
        var views = new Dictionary<Guid, ClusterVolume>();
        foreach (var info in Volumes)
        {
            views[info.Id] = _cluster.CreateVolume(info.SizeBytes, info.BlockSize, id: info.Id);
            string contextPath = Path.Combine(catalog.DataDirectory, "context", info.Id.ToString("N") + ".json");
            Directory.CreateDirectory(Path.GetDirectoryName(contextPath)!);
            contexts[info.Id] = new LocalLuContext(contextPath);
        }

        Portals = [.. Enumerable.Range(0, nodes).Select(i =>
            new PortalAddress(new IPEndPoint(firstPortal.Address, firstPortal.Port + i), (ushort)(i + 1)))];
        var chap = settings.ToIscsiChap();
        for (int i = 0; i < nodes; i++)
        {
            var units = Volumes.Select(v => new LogicalUnit(v.Lun, v.Id, views[v.Id].Views[i], contexts[v.Id])
            {
                PhysicalBlockSize = v.PhysicalBlockSize,
            });
            var target = new ScsiTarget(settings.TargetIqn, units);
            _servers.Add(new IscsiTargetServer(new IscsiTargetOptions
            {
                TargetName = settings.TargetIqn,
                TargetAlias = $"tessera-{settings.NodeId}-{i + 1}",
                PortalGroupTag = (ushort)(i + 1),
                RelativeTargetPortId = (ushort)(i + 1),
                TargetPortGroupId = (ushort)(i + 1),
                Portals = Portals,
                Chap = chap,
            }, target, loggerFactory));
        }
    }

    public string TargetName { get; }

    public IReadOnlyList<VolumeInfo> Volumes { get; }

    public IReadOnlyList<PortalAddress> Portals { get; }

    public IReadOnlyList<IPEndPoint> PortalEndPoints => [.. Portals.Select(p => p.EndPoint)];

    public void Start()
    {
        for (int i = 0; i < _servers.Count; i++) _servers[i].Start(Portals[i].EndPoint);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_servers.Select(s => s.StopAsync(TimeSpan.FromSeconds(2)).AsTask())).ConfigureAwait(false);
        await _cluster.DisposeAsync().ConfigureAwait(false);
        _catalog.Dispose();
    }
}
