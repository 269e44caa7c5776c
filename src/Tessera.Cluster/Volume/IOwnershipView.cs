using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Who owns each sub-unit of one volume, and at which epoch. The owner serialises the sub-unit's
/// writes; the epoch lets an owner refuse a request routed with a stale map (the metadata store's
/// ownership records with epochs will implement this; <see cref="InMemoryOwnershipView"/> is the
/// in-process stand-in).
/// </summary>
internal interface IOwnershipView
{
    NodeId Owner(long subUnit);

    long Epoch(long subUnit);
}
