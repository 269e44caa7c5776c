using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>
/// The pure state transitions command code proposes to <see cref="ILuContext.ChangeAsync{T}"/>.
/// Each takes a state and returns the next one; none reads anything else, so a cluster can
/// evaluate them against its committed state. Public for the changes the cluster itself drives
/// (a node leaves or joins, the whole cluster starts cold): docs/cluster-context.md.
/// </summary>
public static class LuStateChanges
{
    /// <summary>More than this many queued conditions for one nexus and the oldest are dropped.</summary>
    public const int MaxQueuedUnitAttentions = 16;

    /// <summary>Bound on remembered nexuses that left (their I_T NEXUS LOSS OCCURRED waits for their return).</summary>
    public const int MaxRememberedNexuses = 1024;

    /// <summary>SAM-5 5.14: a new I_T nexus starts with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.</summary>
    public static LuState AttachNexus(LuState s, string key)
    {
        if (s.Nexuses.Contains(key)) return s;
        s = s with { Nexuses = s.Nexuses.Add(key) };
        // A nexus coming back already has I_T NEXUS LOSS OCCURRED (or later events) queued.
        return s.UnitAttentions.ContainsKey(key) ? s : Enqueue(s, key, UnitAttention.PowerOnReset);
    }

    /// <summary>
    /// The nexus is gone: its SCSI-2 reservation is released (SPC-2 5.5.1) and I_T NEXUS LOSS OCCURRED
    /// waits for it should the same initiator port return through the same target port.
    /// </summary>
    public static LuState LoseNexus(LuState s, string key)
    {
        if (s.Scsi2Reservation == key) s = s with { Scsi2Reservation = null };
        s = s with { Nexuses = s.Nexuses.Remove(key) };
        if (s.UnitAttentions.Count >= MaxRememberedNexuses) return s with { UnitAttentions = s.UnitAttentions.Remove(key) };
        return s with { UnitAttentions = s.UnitAttentions.SetItem(key, [UnitAttention.ItNexusLoss]) };
    }

    /// <summary>Queues <paramref name="ua"/> for every known nexus except <paramref name="exceptKey"/>.</summary>
    public static LuState EstablishForAll(LuState s, UnitAttention ua, string? exceptKey = null)
    {
        foreach (var key in s.Nexuses)
            if (key != exceptKey) s = Enqueue(s, key, ua);
        return s;
    }

    /// <summary>
    /// Queues a condition for one nexus. Duplicates are not queued twice; a reset-class condition
    /// (29h) supersedes what was queued before it, as the reset made those events moot.
    /// </summary>
    public static LuState Enqueue(LuState s, string key, UnitAttention ua)
    {
        s.UnitAttentions.TryGetValue(key, out var queue);
        if (queue.IsDefault || ua.IsReset) queue = [];
        if (queue.Contains(ua)) return s;
        if (queue.Length >= MaxQueuedUnitAttentions) queue = queue.RemoveAt(0);
        return s with { UnitAttentions = s.UnitAttentions.SetItem(key, queue.Add(ua)) };
    }

    /// <summary>Removes and returns the oldest condition of the nexus (SAM-5 5.14: reported once).</summary>
    public static (LuState Next, UnitAttention? Result) Dequeue(LuState s, string key)
    {
        if (!s.UnitAttentions.TryGetValue(key, out var queue) || queue.IsDefaultOrEmpty) return (s, null);
        var rest = queue.RemoveAt(0);
        var map = rest.IsEmpty ? s.UnitAttentions.Remove(key) : s.UnitAttentions.SetItem(key, rest);
        return (s with { UnitAttentions = map }, queue[0]);
    }

    /// <summary>Clears every queued instance of one condition for the nexus (REPORT LUNS, SPC-5 6.33).</summary>
    public static LuState Clear(LuState s, string key, UnitAttention ua)
    {
        if (!s.UnitAttentions.TryGetValue(key, out var queue) || !queue.Contains(ua)) return s;
        var rest = queue.Remove(ua);
        return s with { UnitAttentions = rest.IsEmpty ? s.UnitAttentions.Remove(key) : s.UnitAttentions.SetItem(key, rest) };
    }

    /// <summary>
    /// LOGICAL UNIT RESET and target resets (SAM-5 6.x, SPC-5 5.14): the SCSI-2 reservation is gone,
    /// mode pages return to their saved values, every nexus gets <paramref name="ua"/>.
    /// Persistent reservations are not affected.
    /// </summary>
    public static LuState Reset(LuState s, UnitAttention ua) =>
        EstablishForAll(s with { Scsi2Reservation = null, CurrentMode = s.SavedMode }, ua);

    /// <summary>
    /// The whole LU powers on (SAM-5 6.3.1, SPC-5 5.14.5): no I_T nexus survives (each that logs in again
    /// sees POWER ON, RESET, OR BUS DEVICE RESET OCCURRED), no unit attention is left over, the SCSI-2
    /// reservation is gone, current mode pages are the saved ones, PRgeneration is zero and persistent
    /// reservations survive only with APTPL. ALUA stays. A sanitize that was running cannot be resumed
    /// (nothing runs it any more), so it is left failed (SBC-4 4.11.3): the data may not be sanitized, and
    /// the host must be told. For a cluster that starts cold: the committed context would otherwise keep
    /// everything, as if power never failed.
    /// </summary>
    public static LuState PowerOn(LuState s)
    {
        s = s with
        {
            Nexuses = s.Nexuses.Clear(),
            UnitAttentions = s.UnitAttentions.Clear(),
            Scsi2Reservation = null,
            CurrentMode = s.SavedMode,
            Sanitize = s.Sanitize is { InProgress: true } running ? running with { InProgress = false, Failed = true } : s.Sanitize,
        };
        return PersistentReservationChanges.PowerOn(s);
    }

    /// <summary>
    /// The node behind target port group <paramref name="targetPortGroupId"/> left the cluster: the group is
    /// unavailable (SPC-5 5.16.2.4.5, reported with STATUS CODE 02h) and every I_T nexus through its target
    /// ports is lost (<see cref="LoseNexus"/>: its SCSI-2 reservation released, I_T NEXUS LOSS OCCURRED kept
    /// for its return; persistent reservations stay). The ports are <paramref name="relativeTargetPortIds"/>
    /// and those the group lists. An I_T nexus names its target port by relative target port identifier
    /// (<see cref="ItNexus.Key"/>), unique in the cluster, so the keys identify the node. Idempotent.
    /// </summary>
    public static LuState TargetPortGroupLost(LuState s, ushort targetPortGroupId, IEnumerable<ushort> relativeTargetPortIds)
    {
        var ports = new HashSet<ushort>(relativeTargetPortIds);
        if (s.Alua.Find(targetPortGroupId) is { } group) ports.UnionWith(group.RelativeTargetPortIds);
        s = s with { Alua = s.Alua.MarkUnavailable(targetPortGroupId) };
        foreach (var key in s.Nexuses)
            if (NexusId.TryParse(key, out var id) && ports.Contains(id.RelativeTargetPort)) s = LoseNexus(s, key);
        return s;
    }

    /// <summary>
    /// A node joins, or comes back: its target port group, with its ports, is active/optimized (SPC-5 5.16).
    /// Idempotent.
    /// </summary>
    public static LuState TargetPortGroupJoined(LuState s, ushort targetPortGroupId, IEnumerable<ushort> relativeTargetPortIds)
    {
        var alua = s.Alua.WithGroup(targetPortGroupId, relativeTargetPortIds);
        var before = s.Alua.Find(targetPortGroupId);
        // Unchanged group: keep the instance, so the cluster writes nothing.
        return before is not null && before == alua.Find(targetPortGroupId) ? s : s with { Alua = alua };
    }
}
