using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Iscsi;
using Tessera.Scsi;
using Tessera.Storage;

namespace Tessera.Cli.Node;

/// <summary>
/// One single-process node: the data directory's volumes as logical units of one SCSI target,
/// served by one iSCSI portal. Follows the volume catalog while running.
/// </summary>
internal sealed class LocalNode : IServingNode
{
    private readonly VolumeCatalog _catalog;
    private readonly NodeSettings _settings;
    private readonly ILogger _log;
    private readonly Dictionary<Guid, (LogicalUnit Unit, ThinVolume Volume)> _units = new();
    private readonly Lock _gate = new();
    private readonly ScsiTarget _target;
    private readonly IscsiTargetServer _server;

    public LocalNode(VolumeCatalog catalog, NodeSettings settings, IPEndPoint portal, ILoggerFactory loggerFactory)
    {
        _catalog = catalog;
        _settings = settings;
        _log = loggerFactory.CreateLogger("Tessera.Node");
        _target = new ScsiTarget(settings.TargetIqn, []);
        Portal = portal;
        var options = new IscsiTargetOptions
        {
            TargetName = settings.TargetIqn,
            TargetAlias = "tessera-" + settings.NodeId,
            PortalGroupTag = 1,
            RelativeTargetPortId = 1,
            TargetPortGroupId = 1,
            Portals = [new PortalAddress(portal, 1)],
            Chap = settings.ToIscsiChap(),
        };
        _server = new IscsiTargetServer(options, _target, loggerFactory);
        Reconcile();
        _catalog.Changed += (_, _) => Reconcile();
    }

    public IPEndPoint Portal { get; }

    public IReadOnlyList<IPEndPoint> PortalEndPoints => [Portal];

    public string TargetName => _settings.TargetIqn;

    public IReadOnlyList<VolumeInfo> Volumes => _catalog.List();

    public void Start()
    {
        _server.Start(Portal);
    }

    /// <summary>Makes the presented LUs match the catalog: new volumes appear, deleted ones go.</summary>
    private void Reconcile()
    {
        lock (_gate)
        {
            var wanted = _catalog.List().ToDictionary(v => v.Id);
            foreach (var (id, (unit, volume)) in _units.ToList())
            {
                if (wanted.ContainsKey(id)) continue;
                _target.RemoveLogicalUnit(unit.Lun);
                volume.Dispose();
                _units.Remove(id);
                _log.LogInformation("LUN {Lun} removed", unit.Lun);
            }
            foreach (var info in wanted.Values.OrderBy(v => v.Lun))
            {
                if (_units.ContainsKey(info.Id)) continue;
                try
                {
                    ThinVolume volume = _catalog.Open(info.Name);
                    string contextPath = Path.Combine(_catalog.DataDirectory, "context", info.Id.ToString("N") + ".json");
                    Directory.CreateDirectory(Path.GetDirectoryName(contextPath)!);
                    var unit = new LogicalUnit(info.Lun, info.Id, volume, new LocalLuContext(contextPath))
                    {
                        PhysicalBlockSize = info.PhysicalBlockSize,
                    };
                    _target.AddLogicalUnit(unit);
                    _units[info.Id] = (unit, volume);
                    _log.LogInformation("LUN {Lun}: volume {Name} ({Size}{Physical}{ReadOnly})", info.Lun, info.Name,
                        SizeParser.Format(info.SizeBytes),
                        info.PhysicalBlockSize != info.BlockSize ? $", {info.BlockSize}/{info.PhysicalBlockSize}-byte blocks" : "",
                        info.ReadOnly ? ", read-only" : "");
                }
                catch (Exception ex) when (ex is StorageException or IOException or UnauthorizedAccessException)
                {
                    _log.LogError("volume {Name} could not be opened: {Error}", info.Name, ex.Message);
                }
            }
        }
    }

    /// <summary>Clean shutdown: initiators are asked to log out, then every volume is flushed and closed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        List<ThinVolume> volumes;
        lock (_gate)
        {
            volumes = [.. _units.Values.Select(u => u.Volume)];
            _units.Clear();
        }
        // DisposeAsync makes every completed write durable (final fdatasync) before closing.
        foreach (var v in volumes) await v.DisposeAsync().ConfigureAwait(false);
        _catalog.Dispose();
    }
}
