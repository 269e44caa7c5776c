namespace Tessera.Cluster.Metadata;

/// <summary>One key as stored: etcd's mvccpb.KeyValue.</summary>
/// <param name="CreateRevision">Revision of the put that created the key (since its last delete).</param>
/// <param name="ModRevision">Revision of the last put.</param>
/// <param name="Version">Number of puts since creation (1 after the first put; etcd semantics).</param>
/// <param name="Lease">Lease id the key is attached to, 0 for none.</param>
internal sealed record KeyValueEntry(
    string Key,
    ReadOnlyMemory<byte> Value,
    long CreateRevision,
    long ModRevision,
    long Version,
    long Lease);

/// <summary>Result of a prefix read: the entries and the revision they were read at.</summary>
internal sealed record RangeResult(IReadOnlyList<KeyValueEntry> Entries, long Revision);

/// <summary>Result of a delete: whether the key existed, and the store revision afterwards.</summary>
internal readonly record struct DeleteResult(bool Deleted, long Revision);
