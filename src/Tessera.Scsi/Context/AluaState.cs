using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>SPC-5 6.37 asymmetric access states.</summary>
public enum AsymmetricAccessState : byte
{
    ActiveOptimized = 0x0,
    ActiveNonOptimized = 0x1,
    Standby = 0x2,
    Unavailable = 0x3,
    Offline = 0xE,
    Transitioning = 0xF,
}

/// <summary>The access state of one target port group (one node of the cluster later).</summary>
public sealed record TargetPortGroupState(ushort Id, AsymmetricAccessState State);

/// <summary>
/// ALUA state of one LU (SPC-5 5.16). Placeholder for the ALUA work: a group absent from
/// <see cref="Groups"/> is active/optimized, which is what a single node (and Tessera's
/// all-paths-active design) reports.
/// </summary>
public sealed record AluaState
{
    public static AluaState Default { get; } = new();

    public ImmutableArray<TargetPortGroupState> Groups { get; init; } = [];

    public AsymmetricAccessState StateOf(ushort targetPortGroupId)
    {
        foreach (var g in Groups)
            if (g.Id == targetPortGroupId) return g.State;
        return AsymmetricAccessState.ActiveOptimized;
    }
}
