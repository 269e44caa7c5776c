using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>SPC-5 6.17.2 Table 168 PERSISTENT RESERVE OUT service actions.</summary>
internal static class ProutServiceAction
{
    public const int Register = 0x00;
    public const int Reserve = 0x01;
    public const int Release = 0x02;
    public const int Clear = 0x03;
    public const int Preempt = 0x04;
    public const int PreemptAndAbort = 0x05;
    public const int RegisterAndIgnoreExistingKey = 0x06;
    public const int RegisterAndMove = 0x07;
}

/// <summary>A decoded PERSISTENT RESERVE OUT command: CDB fields and parameter list (SPC-5 6.17.3, 6.17.4).</summary>
internal sealed record ProutRequest(int ServiceAction, int Scope, int Type, ulong ReservationKey, ulong ServiceActionReservationKey)
{
    public bool SpecifyInitiatorPorts { get; init; }
    public bool AllTargetPorts { get; init; }
    public bool Aptpl { get; init; }
    /// <summary>SPEC_I_PT TransportIDs (normalised initiators), or the REGISTER AND MOVE destination.</summary>
    public ImmutableArray<string> TransportIds { get; init; } = [];
    /// <summary>REGISTER AND MOVE: RELATIVE TARGET PORT IDENTIFIER of the destination I_T nexus.</summary>
    public ushort RelativeTargetPort { get; init; }
    /// <summary>REGISTER AND MOVE: UNREG, unregister the source I_T nexus after the move.</summary>
    public bool Unregister { get; init; }
}

internal enum ProutResult : byte
{
    Good,
    ReservationConflict,
    InvalidFieldInCdb,
    InvalidFieldInParameterList,
    InvalidReleaseOfPersistentReservation,
    InsufficientRegistrationResources,
}

/// <summary>Result of a PERSISTENT RESERVE OUT transition; <see cref="Preempted"/> lists registrations PREEMPT removed.</summary>
internal readonly record struct ProutOutcome(ProutResult Result, int Field = -1, int Bit = -1)
{
    public ImmutableArray<PersistentRegistration> Preempted { get; init; } = [];

    public static ProutOutcome Good => new(ProutResult.Good);
    public static ProutOutcome Conflict => new(ProutResult.ReservationConflict);
}

/// <summary>
/// The pure persistent reservation transitions (SPC-5 5.14.7-5.14.12, 6.17). Each takes the LU state
/// and the I_T nexus the command arrived on and returns the next state and the outcome; unit
/// attentions for other I_T nexuses are queued in the same state change, so a cluster commits them
/// atomically with the reservation change.
/// </summary>
internal static class PersistentReservationChanges
{
    /// <summary>Registrations beyond this many get INSUFFICIENT REGISTRATION RESOURCES.</summary>
    public const int MaxRegistrations = 1024;

    public static (LuState Next, ProutOutcome Result) Apply(LuState s, ItNexus nexus, ProutRequest r) => r.ServiceAction switch
    {
        ProutServiceAction.Register => Register(s, nexus, r, ignoreExistingKey: false),
        ProutServiceAction.RegisterAndIgnoreExistingKey => Register(s, nexus, r, ignoreExistingKey: true),
        ProutServiceAction.Reserve => Reserve(s, nexus, r),
        ProutServiceAction.Release => Release(s, nexus, r),
        ProutServiceAction.Clear => Clear(s, nexus, r),
        ProutServiceAction.Preempt => Preempt(s, nexus, r),
        ProutServiceAction.PreemptAndAbort => Preempt(s, nexus, r),
        ProutServiceAction.RegisterAndMove => RegisterAndMove(s, nexus, r),
        _ => (s, new ProutOutcome(ProutResult.InvalidFieldInCdb, 1, 4)),
    };

    /// <summary>SPC-5 5.14.5: a power on clears PRgeneration, and everything else unless APTPL is set.</summary>
    public static LuState PowerOn(LuState s)
    {
        var pr = s.PersistentReservations;
        if (!pr.Aptpl) return pr.IsEmpty && pr.Generation == 0 ? s : s with { PersistentReservations = PersistentReservationState.Empty };
        return pr.Generation == 0 ? s : s with { PersistentReservations = pr with { Generation = 0 } };
    }

    /// <summary>SPC-5 5.14.7 REGISTER and REGISTER AND IGNORE EXISTING KEY.</summary>
    private static (LuState, ProutOutcome) Register(LuState s, ItNexus nexus, ProutRequest r, bool ignoreExistingKey)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0)
        {
            // An unregistered I_T nexus must send RESERVATION KEY 0 (not checked for IGNORE EXISTING KEY).
            if (!ignoreExistingKey && r.ReservationKey != 0) return (s, ProutOutcome.Conflict);
            if (r.ServiceActionReservationKey == 0) return (s, ProutOutcome.Good); // nothing to do
            var added = ImmutableArray.CreateBuilder<PersistentRegistration>();
            string own = nexus.InitiatorPortName;
            if (Overlaps(pr.Registrations, own, nexus.RelativeTargetPortId, r.AllTargetPorts)) return (s, ProutOutcome.Conflict);
            added.Add(new PersistentRegistration(nexus.Key, r.ServiceActionReservationKey) { AllTargetPorts = r.AllTargetPorts });
            foreach (var initiator in r.TransportIds)
            {
                if (initiator == own) continue; // the sending port itself is registered anyway
                // SPC-5 5.14.7: any specified I_T nexus already registered fails the whole command.
                if (Overlaps(pr.Registrations, initiator, nexus.RelativeTargetPortId, r.AllTargetPorts)
                    || Overlaps(added.ToImmutable(), initiator, nexus.RelativeTargetPortId, r.AllTargetPorts))
                    return (s, ProutOutcome.Conflict);
                added.Add(new PersistentRegistration(NexusId.Of(initiator, nexus.RelativeTargetPortId), r.ServiceActionReservationKey) { AllTargetPorts = r.AllTargetPorts });
            }
            if (pr.Registrations.Length + added.Count > MaxRegistrations) return (s, new ProutOutcome(ProutResult.InsufficientRegistrationResources));
            pr = Bump(pr) with { Registrations = pr.Registrations.AddRange(added), Aptpl = r.Aptpl };
            return (s with { PersistentReservations = pr }, ProutOutcome.Good);
        }

        var registration = pr.Registrations[index];
        if (!ignoreExistingKey && registration.ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        if (r.SpecifyInitiatorPorts) return (s, new ProutOutcome(ProutResult.InvalidFieldInParameterList, 20, 3));
        if (r.ServiceActionReservationKey != 0)
        {
            pr = Bump(pr) with
            {
                Registrations = pr.Registrations.SetItem(index, registration with { ReservationKey = r.ServiceActionReservationKey }),
                Aptpl = r.Aptpl,
            };
            return (s with { PersistentReservations = pr }, ProutOutcome.Good);
        }
        s = Unregister(s, nexus, index);
        return (s with { PersistentReservations = Bump(s.PersistentReservations) with { Aptpl = r.Aptpl } }, ProutOutcome.Good);
    }

    /// <summary>
    /// SPC-5 5.14.11.2.3: removes a registration. A holder leaving releases the reservation (for the
    /// all-registrants types only when the last registrant leaves); a registrants-only reservation
    /// released this way tells the other registrants RESERVATIONS RELEASED.
    /// </summary>
    private static LuState Unregister(LuState s, ItNexus nexus, int index)
    {
        var pr = s.PersistentReservations;
        var registration = pr.Registrations[index];
        var remaining = pr.Registrations.RemoveAt(index);
        var reservation = pr.Reservation;
        bool releasedRegistrantsOnly = false;
        if (reservation is not null)
        {
            if (reservation.IsAllRegistrants)
            {
                if (remaining.IsEmpty) reservation = null;
                else if (reservation.HolderNexusKey == registration.NexusKey)
                    reservation = reservation with { HolderNexusKey = remaining[0].NexusKey };
            }
            else if (reservation.HolderNexusKey == registration.NexusKey)
            {
                releasedRegistrantsOnly = reservation.IsRegistrantsOnly;
                reservation = null;
            }
        }
        var next = pr with { Registrations = remaining, Reservation = reservation };
        s = s with { PersistentReservations = next };
        if (releasedRegistrantsOnly) s = Notify(s, next.Registrations, nexus.Key, UnitAttention.ReservationsReleased);
        return s;
    }

    /// <summary>SPC-5 5.14.10 RESERVE.</summary>
    private static (LuState, ProutOutcome) Reserve(LuState s, ItNexus nexus, ProutRequest r)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0 || pr.Registrations[index].ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        if (pr.Reservation is { } existing)
        {
            // The holder may repeat its reservation; any other change, or anyone else, conflicts.
            bool holder = pr.IsHolder(nexus);
            return (s, holder && existing.Type == r.Type ? ProutOutcome.Good : ProutOutcome.Conflict);
        }
        pr = pr with { Reservation = new PersistentReservation(pr.Registrations[index].NexusKey, (byte)r.Type) };
        return (s with { PersistentReservations = pr }, ProutOutcome.Good);
    }

    /// <summary>SPC-5 5.14.11.2 RELEASE.</summary>
    private static (LuState, ProutOutcome) Release(LuState s, ItNexus nexus, ProutRequest r)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0 || pr.Registrations[index].ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        if (pr.Reservation is not { } reservation || !pr.IsHolder(nexus)) return (s, ProutOutcome.Good); // nothing to release
        if (r.Scope != 0 || r.Type != reservation.Type) return (s, new ProutOutcome(ProutResult.InvalidReleaseOfPersistentReservation));
        pr = pr with { Reservation = null };
        s = s with { PersistentReservations = pr };
        // Other registrants lose access they had through a registrants-only / all-registrants type.
        if (reservation.IsRegistrantsOnly || reservation.IsAllRegistrants)
            s = Notify(s, pr.Registrations, nexus.Key, UnitAttention.ReservationsReleased);
        return (s, ProutOutcome.Good);
    }

    /// <summary>SPC-5 5.14.11.3 CLEAR: every registration and the reservation go; the others hear RESERVATIONS PREEMPTED.</summary>
    private static (LuState, ProutOutcome) Clear(LuState s, ItNexus nexus, ProutRequest r)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0 || pr.Registrations[index].ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        s = Notify(s, pr.Registrations, nexus.Key, UnitAttention.ReservationsPreempted);
        pr = Bump(pr) with { Registrations = [], Reservation = null };
        return (s with { PersistentReservations = pr }, ProutOutcome.Good);
    }

    /// <summary>SPC-5 5.14.12 PREEMPT and PREEMPT AND ABORT (the caller aborts the preempted nexuses' tasks).</summary>
    private static (LuState, ProutOutcome) Preempt(LuState s, ItNexus nexus, ProutRequest r)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0 || pr.Registrations[index].ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        var own = pr.Registrations[index];
        ulong sark = r.ServiceActionReservationKey;
        var reservation = pr.Reservation;

        if (reservation is not null && reservation.IsAllRegistrants && sark == 0)
        {
            // SPC-5 5.14.12.2.4: all other registrations go, the sender holds a new reservation.
            if (!PersistentReservationType.IsValid(r.Type) || r.Scope != 0) return (s, TypeOrScopeInvalid(r));
            var removed = pr.Registrations.RemoveAt(index);
            var next = Bump(pr) with { Registrations = [own], Reservation = new PersistentReservation(own.NexusKey, (byte)r.Type) };
            s = Notify(s, removed, nexus.Key, UnitAttention.RegistrationsPreempted);
            return (s with { PersistentReservations = next }, ProutOutcome.Good with { Preempted = removed });
        }

        var holder = reservation is not null && !reservation.IsAllRegistrants ? HolderOf(pr) : null;
        bool preemptsReservation = holder is not null && holder.ReservationKey == sark;
        if (!preemptsReservation && sark == 0) return (s, new ProutOutcome(ProutResult.InvalidFieldInParameterList, 8));
        if (preemptsReservation && (!PersistentReservationType.IsValid(r.Type) || r.Scope != 0)) return (s, TypeOrScopeInvalid(r));

        // Registrations with the SERVICE ACTION RESERVATION KEY go, except the sender's own.
        var gone = ImmutableArray.CreateBuilder<PersistentRegistration>();
        var kept = ImmutableArray.CreateBuilder<PersistentRegistration>();
        bool matched = false;
        foreach (var reg in pr.Registrations)
        {
            if (reg.ReservationKey != sark) { kept.Add(reg); continue; }
            matched = true;
            if (ReferenceEquals(reg, own)) kept.Add(reg);
            else gone.Add(reg);
        }
        if (!matched) return (s, ProutOutcome.Conflict); // SPC-5 5.14.12.2.2: no such key
        var preempted = gone.ToImmutable();
        var remaining = kept.ToImmutable();

        PersistentReservation? newReservation = reservation;
        bool typeChanged = false;
        if (preemptsReservation)
        {
            newReservation = new PersistentReservation(own.NexusKey, (byte)r.Type);
            typeChanged = reservation!.Type != r.Type;
        }
        else if (reservation is { IsAllRegistrants: true } && !remaining.Any(x => x.NexusKey == reservation.HolderNexusKey))
        {
            newReservation = reservation with { HolderNexusKey = own.NexusKey }; // the sender always remains
        }
        var state = Bump(pr) with { Registrations = remaining, Reservation = newReservation };
        s = Notify(s, preempted, nexus.Key, UnitAttention.RegistrationsPreempted);
        // SPC-5 5.14.12.2.3: a changed type means the remaining registrants lost what they had.
        if (typeChanged) s = Notify(s, remaining, nexus.Key, UnitAttention.ReservationsReleased);
        return (s with { PersistentReservations = state }, ProutOutcome.Good with { Preempted = preempted });
    }

    /// <summary>SPC-5 5.14.8 REGISTER AND MOVE: the holder hands its reservation to another I_T nexus.</summary>
    private static (LuState, ProutOutcome) RegisterAndMove(LuState s, ItNexus nexus, ProutRequest r)
    {
        var pr = s.PersistentReservations;
        int index = pr.IndexOf(nexus);
        if (index < 0 || pr.Registrations[index].ReservationKey != r.ReservationKey) return (s, ProutOutcome.Conflict);
        if (pr.Reservation is not { } reservation || reservation.IsAllRegistrants || !pr.IsHolder(nexus)) return (s, ProutOutcome.Conflict);
        if (r.ServiceActionReservationKey == 0) return (s, new ProutOutcome(ProutResult.InvalidFieldInParameterList, 8));
        if (r.RelativeTargetPort == 0) return (s, new ProutOutcome(ProutResult.InvalidFieldInParameterList, 18));
        string destination = r.TransportIds[0];
        ushort port = r.RelativeTargetPort;
        if (port == nexus.RelativeTargetPortId && (destination == nexus.InitiatorPortName || destination == nexus.InitiatorName))
            return (s, new ProutOutcome(ProutResult.InvalidFieldInParameterList, 24)); // moving to itself

        var regs = pr.Registrations;
        int existing = -1;
        for (int i = 0; i < regs.Length; i++)
            if (regs[i].Covers(destination, TransportId.NameOf(destination), port)) { existing = i; break; }
        PersistentRegistration target;
        if (existing >= 0)
        {
            target = regs[existing] with { ReservationKey = r.ServiceActionReservationKey };
            regs = regs.SetItem(existing, target);
        }
        else
        {
            if (regs.Length >= MaxRegistrations) return (s, new ProutOutcome(ProutResult.InsufficientRegistrationResources));
            target = new PersistentRegistration(NexusId.Of(destination, port), r.ServiceActionReservationKey);
            regs = regs.Add(target);
        }
        if (r.Unregister) regs = regs.Remove(pr.Registrations[index]);
        pr = Bump(pr) with { Registrations = regs, Reservation = reservation with { HolderNexusKey = target.NexusKey }, Aptpl = r.Aptpl };
        return (s with { PersistentReservations = pr }, ProutOutcome.Good);
    }

    private static ProutOutcome TypeOrScopeInvalid(ProutRequest r) =>
        new(ProutResult.InvalidFieldInCdb, 2, r.Scope != 0 ? 7 : 3);

    private static PersistentRegistration? HolderOf(PersistentReservationState pr)
    {
        if (pr.Reservation is not { } reservation) return null;
        foreach (var reg in pr.Registrations)
            if (reg.NexusKey == reservation.HolderNexusKey) return reg;
        return null;
    }

    private static PersistentReservationState Bump(PersistentReservationState pr) =>
        pr with { Generation = unchecked(pr.Generation + 1) };

    /// <summary>
    /// True when registering <paramref name="initiator"/> (port name or bare name) through
    /// <paramref name="port"/> (or all ports) would cover an I_T nexus some registration already covers.
    /// </summary>
    private static bool Overlaps(ImmutableArray<PersistentRegistration> registrations, string initiator, ushort port, bool allPorts)
    {
        string name = TransportId.NameOf(initiator);
        foreach (var reg in registrations)
        {
            string other = reg.Initiator;
            string otherName = TransportId.NameOf(other);
            bool sameInitiator = other == initiator
                || (name == otherName && (other == otherName || initiator == name)); // a bare name covers its ports
            if (!sameInitiator) continue;
            if (allPorts || reg.AllTargetPorts || reg.RelativeTargetPort == port) return true;
        }
        return false;
    }

    /// <summary>
    /// Queues <paramref name="ua"/> for every I_T nexus the LU knows (attached, or remembered with
    /// conditions waiting) that one of <paramref name="registrations"/> covers, except <paramref name="exceptKey"/>.
    /// </summary>
    private static LuState Notify(LuState s, ImmutableArray<PersistentRegistration> registrations, string exceptKey, UnitAttention ua)
    {
        if (registrations.IsDefaultOrEmpty) return s;
        var targets = new List<string>();
        foreach (var key in s.Nexuses) Consider(key);
        foreach (var key in s.UnitAttentions.Keys)
            if (!s.Nexuses.Contains(key)) Consider(key);
        foreach (var key in targets) s = LuStateChanges.Enqueue(s, key, ua);
        return s;

        void Consider(string key)
        {
            if (key == exceptKey || !NexusId.TryParse(key, out var id)) return;
            foreach (var reg in registrations)
            {
                if (reg.Covers(id.InitiatorPort, id.InitiatorName, id.RelativeTargetPort))
                {
                    targets.Add(key);
                    return;
                }
            }
        }
    }
}
