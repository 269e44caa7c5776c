namespace Tessera.Scsi.Tests;

/// <summary>SPC-2 RESERVE/RELEASE between two I_T nexuses, as libiscsi's Reserve6 suite uses them.</summary>
public class ReservationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SecondNexusConflictsUntilTheHolderReleases(bool ten)
    {
        var h = new Harness();
        byte[] reserve = ten ? Cdb.Reserve10() : Cdb.Reserve6(), release = ten ? Cdb.Release10() : Cdb.Release6();
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, reserve).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, reserve).Status); // holder may re-reserve
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(Harness.NexusB, reserve).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, release).Status);  // non-holder: no-op
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.ModeSense6(0x3F), dataIn: 255).Status);

        var conflict = h.Run(Harness.NexusB, Cdb.ModeSense6(0x3F), dataIn: 255);
        Assert.Equal(ScsiStatus.ReservationConflict, conflict.Status);
        Assert.Equal(0, conflict.SenseLength);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(Harness.NexusB, Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(Harness.NexusB, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(Harness.NexusB, Cdb.TestUnitReady()).Status);
        // Exempt commands.
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.Inquiry(), dataIn: 255).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.ReportLuns(), dataIn: 64).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.RequestSense(), dataIn: 252).Status);
        Assert.Equal(0, h.Store.Writes);

        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, release).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, reserve).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(Harness.NexusA, Cdb.TestUnitReady()).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, release).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.TestUnitReady()).Status);
    }

    [Fact]
    public void NexusLossReleasesTheReservation()
    {
        var h = new Harness();
        h.Run(Harness.NexusA, Cdb.Reserve6());
        h.Target.NexusLost(Harness.NexusA);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.Reserve6()).Status);
    }

    [Theory]
    [InlineData(TaskManagementFunction.LogicalUnitReset, 0x2903)]
    [InlineData(TaskManagementFunction.TargetWarmReset, 0x2902)]
    [InlineData(TaskManagementFunction.TargetColdReset, 0x2901)]
    public async Task ResetsReleaseTheReservationAndRaiseTheirCondition(TaskManagementFunction function, int asc)
    {
        var h = new Harness();
        h.Run(Harness.NexusA, Cdb.Reserve6());
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(Harness.NexusA, function, 0, 0));
        Assert.Equal(asc, Sense.Of(h.Run(Harness.NexusB, Cdb.Reserve6())).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.Reserve6()).Status);
        Assert.Equal(asc, Sense.Of(h.Run(Harness.NexusA, Cdb.TestUnitReady())).AscAscq);
    }

    [Fact]
    public void ThirdPartyReserveIsNotSupported()
    {
        var h = new Harness();
        var cdb = Cdb.Reserve10();
        cdb[1] = 0x10; // 3RDPTY
        var s = Sense.Of(h.Run(cdb));
        Assert.Equal((0x2400, 1, 4), (s.AscAscq, s.FieldPointer, s.BitPointer));
    }
}
