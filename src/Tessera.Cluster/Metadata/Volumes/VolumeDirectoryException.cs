namespace Tessera.Cluster.Metadata.Volumes;

/// <summary>A volume operation the cluster's state refuses: a name or LUN taken, too few nodes, no such volume.</summary>
internal sealed class VolumeDirectoryException(string message) : MetadataStoreException(message);
