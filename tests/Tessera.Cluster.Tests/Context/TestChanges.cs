using System.Collections.Immutable;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>Pure LuState changes built from the public LuState records (what PR OUT / UA code does, minus the SCSI).</summary>
internal static class TestChanges
{
    /// <summary>Adds a registration and bumps PRgeneration, like a successful REGISTER; returns the new generation.</summary>
    public static (LuState Next, uint Result) Register(LuState s, string nexusKey, ulong reservationKey)
    {
        var pr = s.PersistentReservations;
        var next = pr with
        {
            Generation = pr.Generation + 1,
            Registrations = pr.Registrations.Add(new PersistentRegistration(nexusKey, reservationKey)),
        };
        return (s with { PersistentReservations = next }, next.Generation);
    }

    /// <summary>Bumps PRgeneration and replaces the one registration of <paramref name="nexusKey"/> (bounded size).</summary>
    public static (LuState Next, uint Result) Reregister(LuState s, string nexusKey, ulong reservationKey)
    {
        var pr = s.PersistentReservations;
        var regs = pr.Registrations.RemoveAll(r => r.NexusKey == nexusKey).Add(new PersistentRegistration(nexusKey, reservationKey));
        var next = pr with { Generation = pr.Generation + 1, Registrations = regs };
        return (s with { PersistentReservations = next }, next.Generation);
    }

    /// <summary>Queues a unit attention for a nexus (no duplicate check: each call must be visible).</summary>
    public static LuState Enqueue(LuState s, string nexusKey, UnitAttention ua)
    {
        s.UnitAttentions.TryGetValue(nexusKey, out var queue);
        queue = queue.IsDefault ? [ua] : queue.Add(ua);
        return s with
        {
            Nexuses = s.Nexuses.Add(nexusKey),
            UnitAttentions = s.UnitAttentions.SetItem(nexusKey, queue),
        };
    }

    public static ImmutableArray<UnitAttention> QueueOf(LuState s, string nexusKey) =>
        s.UnitAttentions.TryGetValue(nexusKey, out var q) ? q : [];
}
