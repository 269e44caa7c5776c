namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// /tessera/acks/&lt;node&gt;: the highest store revision whose context changes the node has applied
/// to its local copy (docs/metadata-store.md, "context commit barrier").
/// </summary>
internal sealed record AppliedAck(string Node, long AppliedRevision);
