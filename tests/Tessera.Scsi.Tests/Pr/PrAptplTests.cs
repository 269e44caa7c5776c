namespace Tessera.Scsi.Tests;

/// <summary>
/// APTPL (SPC-5 5.14.5): with it the registrations and the reservation survive a restart of the
/// node — here a new <see cref="LocalLuContext"/>, <see cref="LogicalUnit"/> and target over the same
/// context file, as the node builds them at start — and without it they do not.
/// </summary>
public sealed class PrAptplTests : IDisposable
{
    private static readonly ItNexus A = Harness.NexusA, B = Harness.NexusB;
    private readonly string _dir = Directory.CreateTempSubdirectory("tessera-pr-").FullName;
    private string ContextPath => Path.Combine(_dir, "context", "lu.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AptplStateSurvivesARestart()
    {
        var h = new Harness(contextPath: ContextPath);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0xA, aptpl: true));
        // The most recent APTPL value governs the LU, so B sets it too.
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(B, 0xB, allTgPt: true, aptpl: true));
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(A, 0xA, Pr.EARO));
        Assert.True(File.Exists(ContextPath));

        var restarted = new Harness(contextPath: ContextPath); // the node restarts: power on
        Pr.AssertKeys(restarted.ReadKeys(B), 0u, 0xA, 0xB); // PRgeneration is zero after power on
        Assert.Equal((0xAUL, 0, (int)Pr.EARO), restarted.ReadReservation(B));
        var full = restarted.ReadFullStatus().Descriptors;
        Assert.True(full[1].AllTgPt);
        Assert.True(full[0].Holder);
        // And it is enforced: an unregistered initiator conflicts, the registrants keep access.
        restarted.Attach(Pr.NexusC);
        Assert.Equal(ScsiStatus.ReservationConflict, restarted.Run(Pr.NexusC, Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
        Assert.Equal(ScsiStatus.Good, restarted.Run(B, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]).Status);
        Assert.Equal(0xB1, Harness.DataIn(restarted.Run(A, Pr.InCdb(2), dataIn: 8))[3] & 0x01 | 0xB0); // PTPL_A
        Assert.Equal(ScsiStatus.Good, restarted.ReleaseAs(A, 0xA, Pr.EARO));
        Assert.Equal(ScsiStatus.Good, restarted.Out(A, Pr.Clear, Pr.Basic(0xA)).Status);

        var again = new Harness(contextPath: ContextPath);
        Assert.Empty(again.ReadKeys().Keys); // CLEAR was persisted too
        Assert.Null(again.ReadReservation());
    }

    [Fact]
    public void WithoutAptplARestartForgetsEverything()
    {
        var h = new Harness(contextPath: ContextPath);
        h.RegisterKey(A, 0xA, aptpl: true);
        h.ReserveAs(A, 0xA, Pr.WE);
        // The most recent APTPL value governs: re-registering with APTPL = 0 stops persisting.
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0xAA, key: 0xA, aptpl: false));
        Assert.Equal(0xB0, Harness.DataIn(h.Run(A, Pr.InCdb(2), dataIn: 8))[3]);

        var restarted = new Harness(contextPath: ContextPath);
        Assert.Empty(restarted.ReadKeys().Keys);
        Assert.Null(restarted.ReadReservation());
        Assert.True(restarted.Context.Current.IsQuiet);
    }

    [Fact]
    public async Task PersistedFileRoundTripsTheWholeState()
    {
        var context = new LocalLuContext(ContextPath);
        var pr = new PersistentReservationState
        {
            Generation = 9,
            Aptpl = true,
            Registrations = [new PersistentRegistration(A.Key, 1), new PersistentRegistration("iqn.x,t,0x0002", 2) { AllTargetPorts = true }],
            Reservation = new PersistentReservation(A.Key, Pr.WEAR),
        };
        await context.ChangeAsync(s => (s with { PersistentReservations = pr }, true));
        var back = new LocalLuContext(ContextPath).Current.PersistentReservations;
        Assert.Equal(pr with { Generation = 0 }, back with { Registrations = pr.Registrations });
        Assert.Equal(pr.Registrations.ToArray(), back.Registrations.ToArray());
    }

    [Fact]
    public async Task ColdResetIsAPowerOn()
    {
        var h = new Harness();
        h.RegisterKey(A, 0xA);
        h.ReserveAs(A, 0xA, Pr.WE);
        await h.Target.ManageAsync(A, TaskManagementFunction.TargetColdReset, 0, 0);
        h.ClearUnitAttentions(A);
        h.ClearUnitAttentions(B);
        Assert.Empty(h.ReadKeys().Keys);
        Assert.Equal(0u, h.ReadKeys().Generation);

        h.RegisterKey(B, 0xB);
        h.RegisterKey(A, 0xA, aptpl: true);
        h.ReserveAs(A, 0xA, Pr.WE);
        await h.Target.ManageAsync(A, TaskManagementFunction.TargetColdReset, 0, 0);
        h.ClearUnitAttentions(A);
        Pr.AssertKeys(h.ReadKeys(), 0u, 0xB, 0xA);
        Assert.Equal((0xAUL, 0, (int)Pr.WE), h.ReadReservation());
    }
}
