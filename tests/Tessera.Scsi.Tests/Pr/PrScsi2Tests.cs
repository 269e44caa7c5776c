namespace Tessera.Scsi.Tests;

/// <summary>SCSI-2 RESERVE/RELEASE next to persistent reservations (SPC-5 5.14.3, CRH = 0).</summary>
public class PrScsi2Tests
{
    private static readonly ItNexus A = Harness.NexusA, B = Harness.NexusB;

    [Fact]
    public void ReserveAndReleaseConflictWhileAnyRegistrationExists()
    {
        var h = new Harness();
        h.RegisterKey(A, 0xA);
        foreach (var n in new[] { A, B })
        {
            Assert.Equal(ScsiStatus.ReservationConflict, h.Run(n, Cdb.Reserve6()).Status);
            Assert.Equal(ScsiStatus.ReservationConflict, h.Run(n, Cdb.Reserve10()).Status);
            Assert.Equal(ScsiStatus.ReservationConflict, h.Run(n, Cdb.Release6()).Status);
            Assert.Equal(ScsiStatus.ReservationConflict, h.Run(n, Cdb.Release10()).Status);
        }
        h.ReserveAs(A, 0xA, Pr.WE);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(A, Cdb.Reserve6()).Status);
        Assert.Null(h.Context.Current.Scsi2Reservation);
        h.ReleaseAs(A, 0xA, Pr.WE);
        h.RegisterKey(A, 0, key: 0xA);
        Assert.Equal(ScsiStatus.Good, h.Run(B, Cdb.Reserve6()).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(B, Cdb.Release6()).Status);
    }

    [Fact]
    public void PersistentReserveOutConflictsUnderAnotherNexusScsi2Reservation()
    {
        var h = new Harness();
        Assert.Equal(ScsiStatus.Good, h.Run(A, Cdb.Reserve6()).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.RegisterKey(B, 0xB));
        Assert.Equal(ScsiStatus.Good, h.Run(B, Pr.InCdb(0), dataIn: 8192).Status); // PR IN is allowed
        Assert.Equal(ScsiStatus.Good, h.Run(A, Cdb.Release6()).Status);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(B, 0xB));
    }
}
