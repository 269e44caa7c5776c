namespace Tessera.Cluster.Context;

/// <summary>Tuning of the cluster LU context (docs/cluster-context.md).</summary>
internal sealed record ClusterContextOptions
{
    /// <summary>How long a commit waits for every other live node to acknowledge it before fencing the laggards.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Pause after fencing a node and before the change completes. Must be at least the membership
    /// lease TTL: a fenced node that cannot reach the store learns it is out only when its own
    /// keep-alive gives up, one TTL after its last confirmed renewal (docs/cluster-context.md "Fencing").
    /// </summary>
    public TimeSpan FenceGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Compare-and-swap attempts of one change before it fails as unavailable (contention bound).</summary>
    public int MaxCommitAttempts { get; init; } = 256;

    /// <summary>First back-off after a lost compare-and-swap; doubles per conflict up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Target port group (ALUA) of this node's ports, when known: once the node is fenced its applied copy
    /// reports that group unavailable, so commands arriving here get NOT READY, LOGICAL UNIT NOT
    /// ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE and multipath hosts move to another node.
    /// </summary>
    public ushort? LocalTargetPortGroupId { get; init; }
}
