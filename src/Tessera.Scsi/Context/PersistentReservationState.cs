using System.Collections.Immutable;
using System.Globalization;

namespace Tessera.Scsi;

/// <summary>
/// Persistent reservation state of one LU (SPC-5 5.14): registrations, the reservation, PRgeneration
/// and APTPL. Immutable and JSON-serialisable like the rest of <see cref="LuState"/>; every change is
/// a pure transition (see <c>PersistentReservationChanges</c>) committed through
/// <see cref="ILuContext.ChangeAsync{T}"/>, so a cluster can replicate it.
/// </summary>
public sealed record PersistentReservationState
{
    public static PersistentReservationState Empty { get; } = new();

    /// <summary>
    /// PRgeneration (SPC-5 6.16.2): a 32-bit wrapping counter bumped by every PERSISTENT RESERVE OUT
    /// REGISTER, REGISTER AND IGNORE EXISTING KEY, CLEAR, PREEMPT, PREEMPT AND ABORT and REGISTER AND
    /// MOVE that succeeds; zero after power on.
    /// </summary>
    public uint Generation { get; init; }

    /// <summary>Registered I_T nexuses, in registration order (READ KEYS / READ FULL STATUS order).</summary>
    public ImmutableArray<PersistentRegistration> Registrations { get; init; } = [];

    /// <summary>The persistent reservation, or null (SPC-5 5.14.10).</summary>
    public PersistentReservation? Reservation { get; init; }

    /// <summary>Activate Persist Through Power Loss: the state is saved and restored across restarts (SPC-5 5.14.5).</summary>
    public bool Aptpl { get; init; }

    /// <summary>True when neither registrations nor a reservation exist (nothing to enforce).</summary>
    public bool IsEmpty => Registrations.IsDefaultOrEmpty && Reservation is null;

    /// <summary>Index of the registration covering <paramref name="nexus"/>, or -1 (allocation-free).</summary>
    internal int IndexOf(ItNexus nexus)
    {
        var regs = Registrations;
        if (regs.IsDefault) return -1;
        for (int i = 0; i < regs.Length; i++)
            if (regs[i].Covers(nexus)) return i;
        return -1;
    }

    /// <summary>Index of the registration covering the I_T nexus with key <paramref name="nexusKey"/>, or -1.</summary>
    internal int IndexOf(string nexusKey)
    {
        var regs = Registrations;
        if (regs.IsDefault || !NexusId.TryParse(nexusKey, out var id)) return -1;
        for (int i = 0; i < regs.Length; i++)
            if (regs[i].Covers(id.InitiatorPort, id.InitiatorName, id.RelativeTargetPort)) return i;
        return -1;
    }

    internal bool IsRegistered(ItNexus nexus) => IndexOf(nexus) >= 0;

    /// <summary>
    /// True when <paramref name="nexus"/> holds the reservation: its registration is the holder's, or,
    /// for the all-registrants types, it is registered at all (SPC-5 5.14.10).
    /// </summary>
    internal bool IsHolder(ItNexus nexus)
    {
        if (Reservation is not { } r) return false;
        int i = IndexOf(nexus);
        return i >= 0 && (r.IsAllRegistrants || Registrations[i].NexusKey == r.HolderNexusKey);
    }

    /// <summary>Same as <see cref="IsHolder(ItNexus)"/> for a registration.</summary>
    internal bool IsHolder(PersistentRegistration registration) =>
        Reservation is { } r && (r.IsAllRegistrants || registration.NexusKey == r.HolderNexusKey);
}

/// <summary>
/// One registration (SPC-5 5.14.7): the I_T nexus it was made for and its reservation key.
/// <see cref="NexusKey"/> has the <see cref="ItNexus.Key"/> shape; its initiator part is either an
/// initiator port name (<c>iqn…,i,0x&lt;ISID&gt;</c>) or, for a registration made from an iSCSI
/// TransportID of format 00h, the bare iSCSI name (every initiator port of that device).
/// With <see cref="AllTargetPorts"/> (ALL_TG_PT = 1) it covers that initiator through every target port.
/// </summary>
public sealed record PersistentRegistration(string NexusKey, ulong ReservationKey)
{
    /// <summary>ALL_TG_PT: registered through every target port (the port in <see cref="NexusKey"/> is the one the REGISTER came through).</summary>
    public bool AllTargetPorts { get; init; }

    /// <summary>True when this registration is the registration of <paramref name="nexus"/> (allocation-free).</summary>
    internal bool Covers(ItNexus nexus)
    {
        if (!AllTargetPorts && string.Equals(NexusKey, nexus.Key, StringComparison.Ordinal)) return true;
        return Covers(nexus.InitiatorPortName, nexus.InitiatorName, nexus.RelativeTargetPortId);
    }

    internal bool Covers(ReadOnlySpan<char> initiatorPort, ReadOnlySpan<char> initiatorName, ushort relativeTargetPort)
    {
        var key = NexusKey.AsSpan();
        int t = key.LastIndexOf(NexusId.TargetSeparator);
        if (t < 0) return false;
        var initiator = key[..t];
        if (!initiator.SequenceEqual(initiatorPort) && !initiator.SequenceEqual(initiatorName)) return false;
        if (AllTargetPorts) return true;
        return ushort.TryParse(key[(t + NexusId.TargetSeparator.Length)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port)
            && port == relativeTargetPort;
    }

    /// <summary>The initiator part of <see cref="NexusKey"/>: an initiator port name or a bare iSCSI name.</summary>
    internal string Initiator => NexusKey[..NexusKey.LastIndexOf(NexusId.TargetSeparator, StringComparison.Ordinal)];

    /// <summary>Relative target port identifier the registration was made through.</summary>
    internal ushort RelativeTargetPort =>
        NexusId.TryParse(NexusKey, out var id) ? id.RelativeTargetPort : (ushort)0;
}

/// <summary>
/// The persistent reservation (SPC-5 5.14.10): its type (Table 62 codes) and the registration
/// (<see cref="PersistentRegistration.NexusKey"/>) that holds it. For the all-registrants types every
/// registration holds it; <see cref="HolderNexusKey"/> then names the one that reserved. Scope is always LU_SCOPE.
/// </summary>
public sealed record PersistentReservation(string HolderNexusKey, byte Type)
{
    internal bool IsAllRegistrants => Type is PersistentReservationType.WriteExclusiveAllRegistrants or PersistentReservationType.ExclusiveAccessAllRegistrants;

    internal bool IsRegistrantsOnly => Type is PersistentReservationType.WriteExclusiveRegistrantsOnly or PersistentReservationType.ExclusiveAccessRegistrantsOnly;

    /// <summary>Write Exclusive family: non-holders may still read.</summary>
    internal bool IsWriteExclusive => Type is PersistentReservationType.WriteExclusive
        or PersistentReservationType.WriteExclusiveRegistrantsOnly or PersistentReservationType.WriteExclusiveAllRegistrants;
}

/// <summary>SPC-5 Table 62 persistent reservation TYPE codes.</summary>
internal static class PersistentReservationType
{
    public const byte WriteExclusive = 0x1;
    public const byte ExclusiveAccess = 0x3;
    public const byte WriteExclusiveRegistrantsOnly = 0x5;
    public const byte ExclusiveAccessRegistrantsOnly = 0x6;
    public const byte WriteExclusiveAllRegistrants = 0x7;
    public const byte ExclusiveAccessAllRegistrants = 0x8;

    public static bool IsValid(int type) => type is WriteExclusive or ExclusiveAccess or WriteExclusiveRegistrantsOnly
        or ExclusiveAccessRegistrantsOnly or WriteExclusiveAllRegistrants or ExclusiveAccessAllRegistrants;

    /// <summary>PERSISTENT RESERVATION TYPE MASK of REPORT CAPABILITIES (SPC-5 6.16.4): all six types.</summary>
    public const ushort Mask = 0xEA01; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX | EX_AC_AR
}

/// <summary>
/// The parts of an <see cref="ItNexus.Key"/> (<c>initiator port,t,0x&lt;relative target port&gt;</c>),
/// for state code that only has keys.
/// </summary>
internal readonly record struct NexusId(string InitiatorPort, string InitiatorName, ushort RelativeTargetPort)
{
    public const string TargetSeparator = ",t,0x";
    public const string IsidSeparator = ",i,0x";

    public static bool TryParse(string key, out NexusId id)
    {
        id = default;
        int t = key.LastIndexOf(TargetSeparator, StringComparison.Ordinal);
        if (t <= 0) return false;
        if (!ushort.TryParse(key.AsSpan(t + TargetSeparator.Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var port)) return false;
        string initiator = key[..t];
        int i = initiator.LastIndexOf(IsidSeparator, StringComparison.OrdinalIgnoreCase);
        id = new NexusId(initiator, i > 0 ? initiator[..i] : initiator, port);
        return true;
    }

    /// <summary>Key of the I_T nexus (or registration) of <paramref name="initiator"/> through <paramref name="relativeTargetPort"/>.</summary>
    public static string Of(string initiator, ushort relativeTargetPort) =>
        string.Create(CultureInfo.InvariantCulture, $"{initiator}{TargetSeparator}{relativeTargetPort:x4}");
}
