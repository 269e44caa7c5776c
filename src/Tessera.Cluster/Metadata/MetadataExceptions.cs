namespace Tessera.Cluster.Metadata;

/// <summary>Base of every failure a metadata store reports to its callers.</summary>
internal class MetadataStoreException : Exception
{
    public MetadataStoreException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>A watch asked for history that was compacted away; re-list and watch from the list's revision + 1.</summary>
internal sealed class MetadataCompactedException : MetadataStoreException
{
    public MetadataCompactedException(long requested, long compactedThrough)
        : base($"revision {requested} is compacted (history retained after {compactedThrough})")
    {
        Requested = requested;
        CompactedThrough = compactedThrough;
    }

    public long Requested { get; }

    public long CompactedThrough { get; }
}

/// <summary>A lease expired or was revoked while someone still relied on it.</summary>
internal sealed class MetadataLeaseLostException : MetadataStoreException
{
    public MetadataLeaseLostException(long leaseId)
        : base($"lease {leaseId:x} lapsed or was revoked")
    {
        LeaseId = leaseId;
    }

    public long LeaseId { get; }
}

/// <summary>A record in the store does not decode or breaks its invariants; the message names the key and the field.</summary>
internal sealed class MalformedMetadataException : MetadataStoreException
{
    public MalformedMetadataException(string key, string problem, Exception? inner = null)
        : base($"malformed record {key}: {problem}", inner)
    {
        Key = key;
    }

    public string Key { get; }
}

/// <summary>Registration refused: a live incarnation holds the node id (another process, or this node's previous run until its lease lapses).</summary>
internal sealed class NodeIdTakenException(string nodeId)
    : MetadataStoreException($"node id '{nodeId}' is already live in the cluster")
{
    public string NodeId { get; } = nodeId;
}
