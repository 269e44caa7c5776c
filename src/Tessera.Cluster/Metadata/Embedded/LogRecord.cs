namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>Kind of a durable log record.</summary>
internal enum LogRecordKind : byte
{
    /// <summary>Puts and deletes committed at one revision (a put, delete or transaction).</summary>
    Writes = 1,
    LeaseGrant = 2,

    /// <summary>A lease revoked or lapsed, with the deletes of its keys at one revision.</summary>
    LeaseRevoke = 3,
}

/// <summary>One resolved write: replay applies it without re-evaluating anything.</summary>
internal readonly record struct LoggedWrite(bool IsPut, string Key, ReadOnlyMemory<byte> Value, long Lease);

/// <summary>
/// One commit as logged. <see cref="Revision"/> is the revision the writes were applied at
/// (unchanged store revision when there are none, e.g. a lease grant).
/// </summary>
internal sealed record LogRecord(LogRecordKind Kind, long Revision, IReadOnlyList<LoggedWrite> Writes, long LeaseId = 0, long LeaseTtlTicks = 0);

/// <summary>A full image of the store at log sequence <see cref="Sequence"/>.</summary>
internal sealed record SnapshotState(
    long Sequence,
    long Revision,
    long NextLeaseId,
    IReadOnlyList<(long Id, long TtlTicks)> Leases,
    IReadOnlyList<KeyValueEntry> Entries);
