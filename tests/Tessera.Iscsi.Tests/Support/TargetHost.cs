using System.Net;
using Tessera.Iscsi.Login;
using Tessera.Scsi;
using Tessera.Storage;
using ChapCredentials = Tessera.Iscsi.Login.ChapCredentials;

namespace Tessera.Iscsi.Tests.Support;

/// <summary>A real target (thin volume, SCSI target, iSCSI portal) on 127.0.0.1 with an ephemeral port.</summary>
internal sealed class TargetHost : IAsyncDisposable
{
    private readonly string _directory;
    private readonly VolumeCatalog _catalog;
    private readonly ThinVolume _volume;

    public TargetHost(ChapCredentials? chap = null, IscsiLimits? limits = null, long volumeBytes = 16 * 1024 * 1024, ILuContext? context = null)
    {
        _directory = Path.Combine(Path.GetTempPath(), "tessera-iscsi-tests-" + Guid.NewGuid().ToString("N"));
        _catalog = new VolumeCatalog(_directory);
        _catalog.Create("vol0", volumeBytes);
        _volume = _catalog.Open("vol0");
        var unit = new LogicalUnit(0, _catalog.Get("vol0").Id, _volume, context ?? new LocalLuContext());
        Target = new ScsiTarget(TestInitiator.TargetName, [unit]);
        var endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        Server = new IscsiTargetServer(new IscsiTargetOptions
        {
            TargetName = TestInitiator.TargetName,
            Portals = [new PortalAddress(new IPEndPoint(IPAddress.Loopback, 3260), 1)],
            Chap = chap ?? new ChapCredentials(),
            Limits = limits ?? new IscsiLimits(),
        }, Target);
        Server.Start(endPoint);
        EndPoint = Server.LocalEndPoint!;
    }

    public ScsiTarget Target { get; }
    public IscsiTargetServer Server { get; }
    public IPEndPoint EndPoint { get; }

    public Task<TestInitiator> ConnectAsync() => TestInitiator.ConnectAsync(EndPoint);

    /// <summary>Connects and logs in a normal session, clearing the power-on unit attention.</summary>
    public async Task<TestInitiator> LoginAsync(string initiatorName = "iqn.2026-11.test:init1", ulong isid = 0x800000000001)
    {
        var initiator = await ConnectAsync();
        var response = await initiator.LoginAsync(initiatorName, isid);
        Assert.Equal(0, response.LoginStatus);
        for (int i = 0; i < 4; i++)
        {
            var tur = await initiator.CommandAsync(new byte[16], 0);
            if (tur.Status == 0) break;
        }
        return initiator;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(TimeSpan.Zero);
        await _volume.DisposeAsync();
        _catalog.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
