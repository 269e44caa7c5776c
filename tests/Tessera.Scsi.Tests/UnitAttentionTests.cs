namespace Tessera.Scsi.Tests;

public class UnitAttentionTests
{
    [Fact]
    public void NewNexusSeesPowerOnOnceThenGood()
    {
        var h = new Harness(clearUnitAttentions: false);
        var s = Sense.Of(h.Run(Cdb.TestUnitReady()));
        Assert.Equal((0x6, 0x2900), (s.Key, s.AscAscq));
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
        // The other nexus still has its own.
        Assert.Equal(0x2900, Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady())).AscAscq);
    }

    [Fact]
    public void InquiryAndReportLunsNeitherReportNorClear()
    {
        var h = new Harness(clearUnitAttentions: false);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Inquiry(), dataIn: 255).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ReportLuns(), dataIn: 64).Status);
        Assert.Equal(0x2900, Sense.Of(h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512)).AscAscq);
    }

    [Fact]
    public void RequestSenseReturnsAndConsumesTheCondition()
    {
        var h = new Harness(clearUnitAttentions: false);
        var t = h.Run(Cdb.RequestSense(), dataIn: 252);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var s = Sense.Parse(Harness.DataIn(t));
        Assert.Equal((0x70, 0x6, 0x2900), (s.ResponseCode, s.Key, s.AscAscq));
        Assert.Equal(18, t.CommandTransferLength);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
        // Nothing pending: NO SENSE, in descriptor format when DESC = 1.
        var none = Sense.Parse(Harness.DataIn(h.Run(Cdb.RequestSense(desc: true), dataIn: 252)));
        Assert.Equal((0x72, 0x0, 0x0000), (none.ResponseCode, none.Key, none.AscAscq));
    }

    [Fact]
    public void ConditionsAreReportedOldestFirstAndResetsSupersedeOlderOnes()
    {
        var h = new Harness();
        string key = Harness.NexusA.Key;
        ScsiTarget.Apply(h.Context, s => LuStateChanges.Enqueue(s, key, UnitAttention.ModeParametersChanged));
        ScsiTarget.Apply(h.Context, s => LuStateChanges.Enqueue(s, key, UnitAttention.ReportedLunsDataChanged));
        ScsiTarget.Apply(h.Context, s => LuStateChanges.Enqueue(s, key, UnitAttention.ModeParametersChanged)); // duplicate
        Assert.Equal(0x2A01, Sense.Of(h.Run(Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(0x3F0E, Sense.Of(h.Run(Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);

        ScsiTarget.Apply(h.Context, s => LuStateChanges.Enqueue(s, key, UnitAttention.ModeParametersChanged));
        ScsiTarget.Apply(h.Context, s => LuStateChanges.Enqueue(s, key, UnitAttention.LogicalUnitReset));
        Assert.Equal(0x2903, Sense.Of(h.Run(Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
    }

    [Fact]
    public void UnknownOpcodesStillReportThePendingCondition()
    {
        var h = new Harness(clearUnitAttentions: false);
        Assert.Equal(0x2900, Sense.Of(h.Run([0xC5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).AscAscq);
        Assert.Equal(0x2000, Sense.Of(h.Run([0xC5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).AscAscq);
    }

    [Fact]
    public void NexusLossIsReportedWhenTheSameNexusReturns()
    {
        var h = new Harness();
        h.Target.NexusLost(Harness.NexusA);
        h.Target.NexusAttached(Harness.NexusA);
        Assert.Equal(0x2907, Sense.Of(h.Run(Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
    }

    [Fact]
    public void QuietStateIsOneFlag()
    {
        var h = new Harness();
        Assert.True(h.Context.Current.IsQuiet);
        h.Run(Cdb.Reserve6());
        Assert.False(h.Context.Current.IsQuiet);
        h.Run(Cdb.Release6());
        Assert.True(h.Context.Current.IsQuiet);
    }
}
