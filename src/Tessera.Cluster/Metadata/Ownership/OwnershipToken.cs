namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>
/// Proof of ownership of <see cref="Subunit"/> at <see cref="Epoch"/>. Every write the owner
/// makes on the sub-unit's behalf carries it (to the metadata store via
/// <see cref="EpochFencing.TryCommitFencedAsync"/>, to chunk stores as the epoch) and is refused
/// once the epoch has moved on. <see cref="CreateRevision"/> pins the record's incarnation so an
/// epoch can never be confused across a delete and re-create of the volume's records.
/// </summary>
internal sealed record OwnershipToken(SubunitId Subunit, string Node, long Epoch, long CreateRevision);
