using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

public class AluaTests
{
    private static (ushort Group, byte State, byte Supported, byte Status, ushort[] Ports)[] ParseGroups(byte[] d, int header)
    {
        int end = 4 + (int)BinaryPrimitives.ReadUInt32BigEndian(d);
        Assert.Equal(d.Length, end + (header - 4));
        var groups = new List<(ushort, byte, byte, byte, ushort[])>();
        for (int at = header; at < d.Length;)
        {
            int count = d[at + 7];
            var ports = Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 8 + 4 * i + 2))).ToArray();
            groups.Add((BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 2)), (byte)(d[at] & 0x0F), d[at + 1], d[at + 5], ports));
            at += 8 + 4 * count;
        }
        return [.. groups];
    }

    [Fact]
    public void SingleNodeReportsItsOwnGroupActiveOptimized()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReportTargetPortGroups(), dataIn: 1024);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var groups = ParseGroups(Harness.DataIn(t), header: 4);
        var g = Assert.Single(groups);
        Assert.Equal(Harness.NexusA.TargetPortGroupId, g.Group);
        Assert.Equal((byte)AsymmetricAccessState.ActiveOptimized, g.State);
        Assert.Equal(0, g.Status);
        Assert.Equal(new[] { Harness.NexusA.RelativeTargetPortId }, g.Ports);
        Assert.Equal(0x01, g.Supported & 0x01); // AO_SUP
        Assert.Equal(0x08, g.Supported & 0x08); // U_SUP: a departed node's group is unavailable
    }

    [Fact]
    public void ExtendedHeaderCarriesFormatTypeAndImplicitTransitionTime()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(SpcCdb.ReportTargetPortGroups(extended: true), dataIn: 1024));
        Assert.Equal(0x10, d[4] & 0x70); // FORMAT TYPE 001b
        Assert.True(d[5] > 0);           // IMPLICIT TRANSITION TIME
        Assert.Single(ParseGroups(d, header: 8));
    }

    [Fact]
    public void ReservedParameterDataFormatIsInvalidField()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.MaintenanceIn(0x0A, 1024, byte1High: 0x40), dataIn: 1024);
        var s = Sense.Of(t);
        Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
        Assert.Equal(1, s.FieldPointer);
    }

    [Fact]
    public void AllocationLengthTruncatesButReturnDataLengthIsWhole()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReportTargetPortGroups(allocation: 4), dataIn: 4);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(4, t.DataInLength);
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32BigEndian(t.DataIn.Span)); // one descriptor with one port
    }

    [Fact]
    public async Task ModelWithManyNodesReportsEveryGroupAndDepartedNodesUnavailable()
    {
        var h = new Harness();
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(1, [1]).WithGroup(2, [2, 12]).WithGroup(3, [3]).MarkUnavailable(3) }, true));
        var groups = ParseGroups(Harness.DataIn(h.Run(SpcCdb.ReportTargetPortGroups(), dataIn: 1024)), header: 4);
        Assert.Equal(new ushort[] { 1, 2, 3 }, groups.Select(g => g.Group));
        Assert.Equal((byte)AsymmetricAccessState.ActiveOptimized, groups[0].State);
        Assert.Equal(new ushort[] { 2, 12 }, groups[1].Ports);
        Assert.Equal((byte)AsymmetricAccessState.Unavailable, groups[2].State);
        Assert.Equal(0x02, groups[2].Status); // altered by implicit ALUA behaviour
        Assert.Equal(0, groups[0].Status);

        // The node comes back: its group is active/optimized again.
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(3, [3]) }, true));
        groups = ParseGroups(Harness.DataIn(h.Run(SpcCdb.ReportTargetPortGroups(), dataIn: 1024)), header: 4);
        Assert.Equal((byte)AsymmetricAccessState.ActiveOptimized, groups[2].State);
        Assert.Equal(AsymmetricAccessState.ActiveOptimized, h.Context.Current.Alua.StateOf(3));
    }

    [Fact]
    public void ReceivingPortMissingFromTheModelIsAddedToItsGroup()
    {
        var alua = AluaState.Default.WithGroup(1, [5]);
        var seen = alua.GroupsSeenFrom(Harness.NexusA); // port 1 of group 1
        var g = Assert.Single(seen);
        Assert.Equal(new ushort[] { 1, 5 }, g.RelativeTargetPortIds);
        Assert.Equal(new ushort[] { 5 }, alua.Groups.Single().RelativeTargetPortIds); // the model itself is unchanged
    }

    [Fact]
    public void AluaStateSurvivesJsonRoundTrip()
    {
        var s = LuState.Initial with { Alua = AluaState.Default.WithGroup(1, [1]).MarkUnavailable(2) };
        var json = System.Text.Json.JsonSerializer.Serialize(s);
        var back = System.Text.Json.JsonSerializer.Deserialize<LuState>(json)!;
        Assert.Equal(AsymmetricAccessState.Unavailable, back.Alua.StateOf(2));
        Assert.True(back.Alua.Find(2)!.ImplicitlyAltered);
        Assert.Equal(new ushort[] { 1 }, back.Alua.Find(1)!.RelativeTargetPortIds);
    }

    [Fact]
    public void DeviceIdentificationNamesTheReceivingPortAndItsGroup()
    {
        var h = new Harness();
        var nexus = new ItNexus("iqn.1994-05.com.redhat:c", 0x23d000000003, RelativeTargetPortId: 7, TargetPortGroupId: 4);
        h.Target.NexusAttached(nexus);
        h.ClearUnitAttentions(nexus);
        var d = Harness.DataIn(h.Run(nexus, Cdb.Inquiry(true, 0x83), dataIn: 255));
        var found = new Dictionary<int, byte[]>();
        for (int at = 4; at < d.Length; at += 4 + d[at + 3])
            if (((d[at + 1] >> 4) & 3) == 1) found[d[at + 1] & 0x0F] = d.AsSpan(at + 4, d[at + 3]).ToArray();
        Assert.Equal(7, BinaryPrimitives.ReadUInt16BigEndian(found[4].AsSpan(2))); // relative target port
        Assert.Equal(4, BinaryPrimitives.ReadUInt16BigEndian(found[5].AsSpan(2))); // target port group
        Assert.StartsWith(Harness.TargetName + ",t,0x0007", System.Text.Encoding.UTF8.GetString(found[8]));

        var groups = ParseGroups(Harness.DataIn(h.Run(nexus, SpcCdb.ReportTargetPortGroups(), dataIn: 1024)), header: 4);
        Assert.Equal((ushort)4, Assert.Single(groups).Group);
    }

    [Fact]
    public void SetTargetPortGroupsIsNotSupported()
    {
        var h = new Harness();
        var c = new byte[12];
        c[0] = 0xA4; c[1] = 0x0A; c[9] = 12;
        var s = Sense.Of(h.Run(c, dataOut: new byte[12]));
        Assert.Equal(Asc.InvalidCommandOperationCode, s.AscAscq);
    }

    [Fact]
    public async Task PortOfAnUnavailableGroupRefusesAllButDiscovery()
    {
        var h = new Harness();
        Assert.True(h.Context.Current.IsQuiet);
        var other = new ItNexus("iqn.1994-05.com.redhat:c", 0x23d000000003, RelativeTargetPortId: 2, TargetPortGroupId: 2);
        h.Target.NexusAttached(other);
        h.ClearUnitAttentions(other);
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(1, [1]).WithGroup(2, [2]).MarkUnavailable(2) }, true));
        Assert.False(h.Context.Current.IsQuiet);

        var s1 = Sense.Of(h.Run(other, Cdb.TestUnitReady()));
        Assert.Equal((byte)SenseKey.NotReady, s1.Key);
        Assert.Equal(AluaAccess.NotAccessibleUnavailable, s1.AscAscq);
        Assert.Equal(AluaAccess.NotAccessibleUnavailable, Sense.Of(h.Run(other, Cdb.Block(0x28, 0, 1), dataIn: 512)).AscAscq);
        Assert.Equal(AluaAccess.NotAccessibleUnavailable, Sense.Of(h.Run(other, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512])).AscAscq);
        Assert.Equal(0, h.Store.Writes);
        Assert.Equal(ScsiStatus.Good, h.Run(other, Cdb.Inquiry(), dataIn: 96).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(other, Cdb.ReportLuns(), dataIn: 4096).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(other, SpcCdb.ReportTargetPortGroups(), dataIn: 1024).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(other, SpcCdb.ReportSupportedOpcodes(), dataIn: 65535).Status);

        // the active group's port is unaffected
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]).Status);

        // standby also allows MODE SENSE; transitioning does not
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(2, [2], AsymmetricAccessState.Standby) }, true));
        Assert.Equal(ScsiStatus.Good, h.Run(other, Cdb.ModeSense6(0x3F), dataIn: 255).Status);
        Assert.Equal(AluaAccess.NotAccessibleStandby, Sense.Of(h.Run(other, Cdb.Block(0x28, 0, 1), dataIn: 512)).AscAscq);
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(2, [2], AsymmetricAccessState.Transitioning) }, true));
        Assert.Equal(AluaAccess.NotAccessibleTransitioning, Sense.Of(h.Run(other, Cdb.ModeSense6(0x3F), dataIn: 255)).AscAscq);

        // back to active: the quiet path returns
        await h.Context.ChangeAsync(s => (s with { Alua = s.Alua.WithGroup(2, [2]) }, true));
        Assert.True(h.Context.Current.IsQuiet);
        Assert.Equal(ScsiStatus.Good, h.Run(other, Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
    }
}
