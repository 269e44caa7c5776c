using System.Text.Json;

namespace Tessera.Scsi.Tests;

public class LuStateTests
{
    [Fact]
    public void RoundTripsThroughSystemTextJson()
    {
        var s = LuState.Initial;
        s = LuStateChanges.AttachNexus(s, Harness.NexusA.Key);
        s = LuStateChanges.AttachNexus(s, Harness.NexusB.Key);
        s = s with { Scsi2Reservation = Harness.NexusB.Key };
        s = s with { CurrentMode = s.CurrentMode.WithPage(0x0A, [0x0A, 0x0A, 0x04, 0x10, 0x08, 0, 0, 0, 0, 0, 0, 0]) };
        s = s with
        {
            PersistentReservations = new PersistentReservationState
            {
                Generation = 3,
                Registrations = [new PersistentRegistration(Harness.NexusA.Key, 0xABCD)],
                Reservation = new PersistentReservation(Harness.NexusA.Key, 1),
                Aptpl = true,
            },
            Alua = new AluaState { Groups = [new TargetPortGroupState(1, AsymmetricAccessState.ActiveOptimized)] },
        };

        string json = JsonSerializer.Serialize(s);
        var back = JsonSerializer.Deserialize<LuState>(json)!;

        Assert.Equal(s.Nexuses, back.Nexuses);
        Assert.Equal(s.UnitAttentions.Keys, back.UnitAttentions.Keys);
        Assert.Equal(UnitAttention.PowerOnReset, back.UnitAttentions[Harness.NexusA.Key][0]);
        Assert.Equal(Harness.NexusB.Key, back.Scsi2Reservation);
        Assert.True(back.CurrentMode.DescriptorSense);
        Assert.True(back.CurrentMode.SoftwareWriteProtect);
        Assert.Equal(s.CurrentMode, back.CurrentMode);
        Assert.Equal(s.SavedMode, back.SavedMode);
        Assert.Equal(3u, back.PersistentReservations.Generation);
        Assert.Equal(s.PersistentReservations.Registrations[0], back.PersistentReservations.Registrations[0]);
        Assert.Equal(s.Alua.Groups[0], back.Alua.Groups[0]);
        Assert.False(back.IsQuiet);
    }

    [Fact]
    public void QuietFlagFollowsWithExpressions()
    {
        var s = LuState.Initial;
        Assert.True(s.IsQuiet);
        var reserved = s with { Scsi2Reservation = "x" };
        Assert.False(reserved.IsQuiet);
        Assert.True((reserved with { Scsi2Reservation = null }).IsQuiet);
        var pending = LuStateChanges.AttachNexus(s, "n");
        Assert.False(pending.IsQuiet);
        Assert.True(LuStateChanges.Dequeue(pending, "n").Next.IsQuiet);
        // A condition remembered for a nexus that left does not slow down everyone else.
        var lost = LuStateChanges.LoseNexus(LuStateChanges.Dequeue(pending, "n").Next, "n");
        Assert.True(lost.IsQuiet);
        Assert.False(LuStateChanges.AttachNexus(lost, "n").IsQuiet);
        Assert.False((s with { PersistentReservations = new PersistentReservationState { Registrations = [new PersistentRegistration("n", 1)] } }).IsQuiet);
    }

    [Fact]
    public void ItNexusEqualityIgnoresCachedNames()
    {
        var a = new ItNexus("iqn.a", 1, 1, 1);
        var b = new ItNexus("iqn.a", 1, 1, 1);
        int before = b.GetHashCode();
        _ = a.InitiatorPortName;
        _ = a.Key;
        Assert.Equal(a, b);
        Assert.Equal(before, a.GetHashCode());
        Assert.Equal("iqn.a,i,0x000000000001,t,0x0001", a.Key);
        Assert.NotEqual(a, new ItNexus("iqn.a", 1, 2, 1));
    }

    [Fact]
    public void CorruptContextFileIsReportedNotIgnored()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{ not json");
            var e = Assert.Throws<InvalidDataException>(() => new LocalLuContext(path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
