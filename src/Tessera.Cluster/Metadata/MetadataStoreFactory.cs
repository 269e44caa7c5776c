using Tessera.Cluster.Metadata.Embedded;
using Tessera.Cluster.Metadata.Etcd;

namespace Tessera.Cluster.Metadata;

/// <summary>
/// Picks the implementation the way the CLI needs it: <c>tessera node --etcd URL</c> talks to
/// etcd; <c>tessera up</c> opens one embedded store under the data directory and hands that one
/// instance to all N in-process nodes.
/// </summary>
internal static class MetadataStoreFactory
{
    /// <summary>Subdirectory of the node/cluster data directory holding the embedded store.</summary>
    public const string EmbeddedDirectoryName = "metadata";

    public static IMetadataStore Open(string? etcdEndpoint, string dataDirectory, TimeProvider? time = null) =>
        string.IsNullOrEmpty(etcdEndpoint)
            ? EmbeddedMetadataStore.Open(Path.Combine(dataDirectory, EmbeddedDirectoryName), time)
            : EtcdMetadataStore.Connect(etcdEndpoint);
}
