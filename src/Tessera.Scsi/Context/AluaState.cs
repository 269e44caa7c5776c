using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>SPC-5 6.37 Table 307 asymmetric access states.</summary>
public enum AsymmetricAccessState : byte
{
    ActiveOptimized = 0x0,
    ActiveNonOptimized = 0x1,
    Standby = 0x2,
    Unavailable = 0x3,
    Offline = 0xE,
    Transitioning = 0xF,
}

/// <summary>
/// One target port group (one node of the cluster): its access state for this LU and the relative
/// target port identifiers of the target ports in it (SPC-5 5.16.2.1, 6.37 Table 306).
/// </summary>
public sealed record TargetPortGroupState(ushort Id, AsymmetricAccessState State)
{
    /// <summary>Relative target port identifiers of the ports in the group, ascending.</summary>
    public ImmutableArray<ushort> RelativeTargetPortIds { get; init; } = [];

    /// <summary>
    /// True when the state was set by the device itself (e.g. the node left the cluster): REPORT TARGET
    /// PORT GROUPS then reports STATUS CODE 02h, "altered by implicit asymmetric logical unit access behavior".
    /// </summary>
    public bool ImplicitlyAltered { get; init; }
}

/// <summary>
/// ALUA state of one LU (SPC-5 5.16). Tessera supports implicit ALUA only (TPGS 01b): the cluster,
/// not the initiator, decides the states. Every node is a target port group and every path is
/// active/optimized; a group whose node left the cluster is unavailable. A node's own group need not be
/// listed: a group absent from <see cref="Groups"/> is active/optimized, which is all a single node
/// ever reports. Changes are pure and go through <see cref="ILuContext.ChangeAsync{T}"/> like every
/// other part of <see cref="LuState"/>.
/// </summary>
public sealed record AluaState
{
    public static AluaState Default { get; } = new();

    private ImmutableArray<TargetPortGroupState> _groups = [];
    private bool _allActive = true;

    /// <summary>Known target port groups, ascending id.</summary>
    public ImmutableArray<TargetPortGroupState> Groups
    {
        get => _groups;
        init
        {
            _groups = value.IsDefault ? [] : value;
            _allActive = true;
            foreach (var g in _groups)
                if (g.State is not (AsymmetricAccessState.ActiveOptimized or AsymmetricAccessState.ActiveNonOptimized)) _allActive = false;
        }
    }

    /// <summary>True when every known group is active: commands need no access-state check.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool AllActive => _allActive;

    public AsymmetricAccessState StateOf(ushort targetPortGroupId) =>
        Find(targetPortGroupId)?.State ?? AsymmetricAccessState.ActiveOptimized;

    public TargetPortGroupState? Find(ushort targetPortGroupId)
    {
        foreach (var g in Groups)
            if (g.Id == targetPortGroupId) return g;
        return null;
    }

    /// <summary>A node (target port group) joins or comes back: its ports are active/optimized.</summary>
    public AluaState WithGroup(ushort id, IEnumerable<ushort> relativeTargetPortIds, AsymmetricAccessState state = AsymmetricAccessState.ActiveOptimized) =>
        Put(new TargetPortGroupState(id, state) { RelativeTargetPortIds = [.. relativeTargetPortIds.Distinct().Order()] });

    /// <summary>The node of the group left the cluster: its ports can no longer reach the LU (SPC-5 5.16.2.4.5).</summary>
    public AluaState MarkUnavailable(ushort id)
    {
        var g = Find(id) ?? new TargetPortGroupState(id, AsymmetricAccessState.Unavailable);
        return Put(g with { State = AsymmetricAccessState.Unavailable, ImplicitlyAltered = true });
    }

    /// <summary>Forgets a group altogether (the node was removed from the cluster for good).</summary>
    public AluaState Without(ushort id) =>
        Find(id) is { } g ? this with { Groups = Groups.Remove(g) } : this;

    /// <summary>
    /// The groups to report to a command that arrived through <paramref name="nexus"/>: every known group
    /// and, if the model does not list it yet, the receiving port's own group as active/optimized
    /// (SPC-5 6.37: one descriptor per target port group, each with at least one target port).
    /// </summary>
    public ImmutableArray<TargetPortGroupState> GroupsSeenFrom(ItNexus nexus)
    {
        var own = Find(nexus.TargetPortGroupId);
        if (own is not null && own.RelativeTargetPortIds.Contains(nexus.RelativeTargetPortId)) return Groups;
        var mine = own is null
            ? new TargetPortGroupState(nexus.TargetPortGroupId, AsymmetricAccessState.ActiveOptimized) { RelativeTargetPortIds = [nexus.RelativeTargetPortId] }
            : own with { RelativeTargetPortIds = [.. own.RelativeTargetPortIds.Add(nexus.RelativeTargetPortId).Order()] };
        return Put(mine).Groups;
    }

    private AluaState Put(TargetPortGroupState group)
    {
        var list = Groups.RemoveAll(g => g.Id == group.Id);
        int at = 0;
        while (at < list.Length && list[at].Id < group.Id) at++;
        return this with { Groups = list.Insert(at, group) };
    }
}
