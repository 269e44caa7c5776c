namespace Tessera.Cluster.Metadata.Membership;

/// <summary>Kind of a membership change.</summary>
internal enum MembershipChangeKind
{
    Joined,
    Left,
}

/// <summary>
/// A node joined (its key appeared) or left (lease lapsed, revoked, or fenced) at
/// <paramref name="Revision"/>. <paramref name="Incarnation"/> is the create revision of the node's
/// key — pass it to <c>EpochFencing.RevokeNodeAsync</c> to fence exactly the incarnation that left.
/// </summary>
internal sealed record MembershipChange(MembershipChangeKind Kind, string NodeId, NodeRecord Node, long Incarnation, long Revision);
