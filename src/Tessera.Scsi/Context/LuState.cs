using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Tessera.Scsi;

/// <summary>
/// Everything one logical unit remembers besides its data (SAM-5 / SPC-5 "logical unit context"):
/// known I_T nexuses and their queued unit attentions, the SCSI-2 reservation, current and saved mode
/// pages, persistent reservations and ALUA state. Immutable and serialisable so that a cluster can
/// commit a new version in its metadata store and apply it on every node; command code only reads
/// a snapshot and proposes pure changes through <see cref="ILuContext.ChangeAsync{T}"/>.
/// I_T nexuses are identified by <see cref="ItNexus.Key"/>.
/// </summary>
public sealed record LuState
{
    private ImmutableSortedSet<string> _nexuses = ImmutableSortedSet<string>.Empty;
    private ImmutableSortedDictionary<string, ImmutableArray<UnitAttention>> _unitAttentions = ImmutableSortedDictionary<string, ImmutableArray<UnitAttention>>.Empty;
    private string? _scsi2Reservation;
    private PersistentReservationState _persistentReservations = PersistentReservationState.Empty;
    private SanitizeState? _sanitize;
    private AluaState _alua = AluaState.Default;
    private bool _quiet = true;

    /// <summary>A freshly powered-on LU: no nexuses, default mode pages.</summary>
    public static LuState Initial { get; } = new();

    /// <summary>I_T nexuses known to the LU (attached), by key.</summary>
    public ImmutableSortedSet<string> Nexuses
    {
        get => _nexuses;
        init { _nexuses = value; Recompute(); }
    }

    /// <summary>Pending unit attentions per I_T nexus key, oldest first; nexuses with none are absent.</summary>
    public ImmutableSortedDictionary<string, ImmutableArray<UnitAttention>> UnitAttentions
    {
        get => _unitAttentions;
        init { _unitAttentions = value; Recompute(); }
    }

    /// <summary>Key of the I_T nexus holding the SPC-2 RESERVE(6)/(10) reservation, or null.</summary>
    public string? Scsi2Reservation
    {
        get => _scsi2Reservation;
        init { _scsi2Reservation = value; Recompute(); }
    }

    /// <summary>Mode pages in effect.</summary>
    public ModePageSet CurrentMode { get; init; } = ModePageSet.Default;

    /// <summary>Mode pages saved with MODE SELECT SP=1; they survive restarts and become current after resets.</summary>
    public ModePageSet SavedMode { get; init; } = ModePageSet.Default;

    public PersistentReservationState PersistentReservations
    {
        get => _persistentReservations;
        init { _persistentReservations = value; Recompute(); }
    }

    /// <summary>ALUA target port group states; any group not active takes the LU off the quiet path.</summary>
    public AluaState Alua
    {
        get => _alua;
        init { _alua = value; Recompute(); }
    }

    /// <summary>SBC-4 4.11 sanitize in progress or failed (null: neither); see <see cref="SanitizeState"/>.</summary>
    public SanitizeState? Sanitize
    {
        get => _sanitize;
        init { _sanitize = value; Recompute(); }
    }

    /// <summary>
    /// True when no attached nexus has a unit attention pending and no reservation of any kind
    /// exists: the I/O path then skips every context check with this one field read. Conditions
    /// remembered for nexuses that are gone (I_T NEXUS LOSS OCCURRED) do not count until they return.
    /// </summary>
    [JsonIgnore]
    public bool IsQuiet => _quiet;

    // `with` copies the old flag first, then runs the init accessors of the changed members.
    private void Recompute()
    {
        bool pending = false;
        foreach (var key in _unitAttentions.Keys)
        {
            if (_nexuses.Contains(key)) { pending = true; break; }
        }
        _quiet = !pending && _scsi2Reservation is null && _persistentReservations.IsEmpty && _sanitize is null && _alua.AllActive;
    }

    /// <summary>The oldest unit attention pending for the nexus, if any.</summary>
    public bool TryPeekUnitAttention(string nexusKey, out UnitAttention unitAttention)
    {
        if (_unitAttentions.TryGetValue(nexusKey, out var queue) && queue.Length > 0)
        {
            unitAttention = queue[0];
            return true;
        }
        unitAttention = default;
        return false;
    }
}
