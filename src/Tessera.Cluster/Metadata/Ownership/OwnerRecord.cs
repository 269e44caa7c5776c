namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>State of a sub-unit's ownership record.</summary>
internal enum OwnerState
{
    /// <summary><see cref="OwnerRecord.Node"/> owns the sub-unit at <see cref="OwnerRecord.Epoch"/>.</summary>
    Held,

    /// <summary>The owner was fenced (<c>RevokeNodeAsync</c>); anyone live may take over.</summary>
    Revoked,

    /// <summary>The owner handed the sub-unit back; anyone live may take over.</summary>
    Released,
}

/// <summary>
/// /tessera/owners/&lt;volume&gt;/&lt;subunit&gt;. <see cref="Epoch"/> always equals the key's etcd
/// version (every change is one put; the key is never deleted while its volume exists), so a
/// transaction can fence on the epoch with a plain version compare. <see cref="Incarnation"/> is
/// the create revision of the holder's membership key when it acquired, so fencing one
/// incarnation of a node never touches what a later incarnation of the same id acquired.
/// </summary>
internal sealed record OwnerRecord(string Node, long Epoch, OwnerState State, long Incarnation);
