using System.Collections.Immutable;
using Tessera.Cluster.Context;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

public sealed class LuStateJsonTests
{
    internal const string NexusA = "iqn.2026-01.io.test:a,i,0x000000000001,t,0x0001";
    internal const string NexusB = "iqn.2026-01.io.test:b,i,0x000000000002,t,0x0003";

    /// <summary>A state with every part set away from its default.</summary>
    internal static LuState Rich()
    {
        var caching = ModePageSet.Default.Pages[0x08];
        var control = ModePageSet.Default.Pages[0x0A];
        var current = ModePageSet.Default
            .WithPage(0x08, caching.SetItem(2, (byte)(caching[2] ^ 0x04)))  // WCE flipped
            .WithPage(0x0A, control.SetItem(2, (byte)(control[2] | 0x04))); // D_SENSE on
        return LuState.Initial with
        {
            Nexuses = ImmutableSortedSet.Create(StringComparer.Ordinal, NexusA, NexusB),
            UnitAttentions = ImmutableSortedDictionary<string, ImmutableArray<UnitAttention>>.Empty
                .Add(NexusA, [UnitAttention.RegistrationsPreempted, UnitAttention.ModeParametersChanged])
                .Add("iqn.gone,i,0x000000000009,t,0x0002", [UnitAttention.ItNexusLoss]),
            Scsi2Reservation = NexusB,
            CurrentMode = current,
            SavedMode = ModePageSet.Default.WithPage(0x08, caching.SetItem(2, (byte)(caching[2] ^ 0x04))),
            PersistentReservations = new PersistentReservationState
            {
                Generation = 0xFFFFFFFE,
                Registrations =
                [
                    new PersistentRegistration(NexusA, 0xA1A2A3A4A5A6A7A8),
                    new PersistentRegistration("iqn.2026-01.io.test:c,t,0x0002", 0x0C) { AllTargetPorts = true },
                ],
                Reservation = new PersistentReservation(NexusA, 0x01),
                Aptpl = true,
            },
            Alua = AluaState.Default.WithGroup(1, [1]).WithGroup(2, [2, 7]).MarkUnavailable(3),
            Sanitize = new SanitizeState(InProgress: false, Failed: true, Ause: true),
        };
    }

    [Fact]
    public void RichStateRoundTripsEveryPart()
    {
        var state = Rich();
        byte[] json = LuStateJson.Serialize(state);
        var back = LuStateJson.Deserialize(json);

        Assert.Equal(json, LuStateJson.Serialize(back));
        Assert.Equal(state.Nexuses, back.Nexuses);
        Assert.Equal(state.UnitAttentions.Keys, back.UnitAttentions.Keys);
        Assert.Equal([UnitAttention.RegistrationsPreempted, UnitAttention.ModeParametersChanged], back.UnitAttentions[NexusA].ToArray());
        Assert.Equal(NexusB, back.Scsi2Reservation);
        Assert.Equal(state.CurrentMode, back.CurrentMode);
        Assert.Equal(state.SavedMode, back.SavedMode);
        Assert.NotEqual(ModePageSet.Default, back.CurrentMode);
        // Decoded bits are recomputed from the page images, not carried in the JSON.
        Assert.Equal(state.CurrentMode.WriteCacheEnabled, back.CurrentMode.WriteCacheEnabled);
        Assert.NotEqual(ModePageSet.Default.WriteCacheEnabled, back.CurrentMode.WriteCacheEnabled);
        Assert.True(back.CurrentMode.DescriptorSense);
        var pr = back.PersistentReservations;
        Assert.Equal(0xFFFFFFFEu, pr.Generation);
        Assert.True(pr.Aptpl);
        Assert.Equal(state.PersistentReservations.Registrations.ToArray(), pr.Registrations.ToArray());
        Assert.True(pr.Registrations[1].AllTargetPorts);
        Assert.Equal(new PersistentReservation(NexusA, 0x01), pr.Reservation);
        Assert.Equal(AsymmetricAccessState.Unavailable, back.Alua.StateOf(3));
        Assert.True(back.Alua.Find(3)!.ImplicitlyAltered);
        Assert.Equal(new ushort[] { 2, 7 }, back.Alua.Find(2)!.RelativeTargetPortIds.ToArray());
        Assert.False(back.Alua.AllActive);
        Assert.Equal(new SanitizeState(false, true, true), back.Sanitize);
        Assert.False(back.IsQuiet);
    }

    [Fact]
    public void InitialStateRoundTripsQuiet()
    {
        var back = LuStateJson.Deserialize(LuStateJson.Serialize(LuState.Initial));
        Assert.True(back.IsQuiet);
        Assert.True(back.Alua.AllActive);
        Assert.Equal(ModePageSet.Default, back.CurrentMode);
        Assert.Equal(0u, back.PersistentReservations.Generation);
        Assert.Null(back.PersistentReservations.Reservation);
    }

    [Fact]
    public void QuietFlagFollowsTheDecodedParts()
    {
        // Only a condition for a nexus that left: still quiet (LuState.IsQuiet); it must stay so after decoding.
        var gone = LuState.Initial with
        {
            UnitAttentions = ImmutableSortedDictionary<string, ImmutableArray<UnitAttention>>.Empty.Add(NexusA, [UnitAttention.ItNexusLoss]),
        };
        Assert.True(LuStateJson.Deserialize(LuStateJson.Serialize(gone)).IsQuiet);
        var back = LuStateJson.Deserialize(LuStateJson.Serialize(gone with { Nexuses = [NexusA] }));
        Assert.False(back.IsQuiet);
    }

    [Fact]
    public void MembersMissingFromTheDocumentKeepTheirDefaults()
    {
        // A document written before a member existed (e.g. Sanitize, Alua) must still decode.
        var back = LuStateJson.Deserialize("{\"Scsi2Reservation\":null}"u8);
        Assert.True(back.IsQuiet);
        Assert.True(back.Alua.AllActive);
        Assert.Equal(ModePageSet.Default, back.CurrentMode);
        Assert.Empty(back.Nexuses);
        Assert.Equal(PersistentReservationState.Empty, back.PersistentReservations);
    }

    [Fact]
    public void GarbageIsAnErrorNotADefault()
    {
        Assert.Throws<InvalidDataException>(() => LuStateJson.Deserialize("{\"Nexuses\": 5}"u8));
        Assert.Throws<InvalidDataException>(() => LuStateJson.Deserialize("not json"u8));
    }
}
