namespace Tessera.Cluster.Metadata.Membership;

/// <summary>What a live node publishes under /tessera/nodes/&lt;id&gt; (bound to its lease).</summary>
/// <param name="Id">Cluster-unique node id; a key segment, so no '/'.</param>
/// <param name="Portal">iSCSI portal, host:port.</param>
/// <param name="Peer">Inter-node endpoint, host:port.</param>
internal sealed record NodeRecord(string Id, string Portal, string Peer);
