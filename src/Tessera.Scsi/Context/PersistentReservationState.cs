using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>
/// Persistent reservation state of one LU (SPC-5 5.14). Placeholder shape for the persistent
/// reservations work: registrations keyed by I_T nexus, the reservation, PRgeneration and APTPL.
/// Empty until PERSISTENT RESERVE OUT exists; kept here so <see cref="LuState"/> does not change shape.
/// </summary>
public sealed record PersistentReservationState
{
    public static PersistentReservationState Empty { get; } = new();

    /// <summary>PRgeneration (SPC-5 6.16.2): bumped by every PERSISTENT RESERVE OUT that changes registrations.</summary>
    public uint Generation { get; init; }

    public ImmutableArray<PersistentRegistration> Registrations { get; init; } = [];

    public PersistentReservation? Reservation { get; init; }

    /// <summary>Activate Persist Through Power Loss: the state is saved and restored across restarts.</summary>
    public bool Aptpl { get; init; }

    /// <summary>True when neither registrations nor a reservation exist (nothing to enforce).</summary>
    public bool IsEmpty => Registrations.IsDefaultOrEmpty && Reservation is null;
}

/// <summary>One registered I_T nexus and its reservation key (SPC-5 5.14.7).</summary>
public sealed record PersistentRegistration(string NexusKey, ulong ReservationKey);

/// <summary>The persistent reservation: its holder (or all registrants for types 7h/8h) and its type (SPC-5 Table 62).</summary>
public sealed record PersistentReservation(string HolderNexusKey, byte Type);
