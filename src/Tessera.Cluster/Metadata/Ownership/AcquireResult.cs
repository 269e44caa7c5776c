namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>Why an acquisition did not happen.</summary>
internal enum AcquireFailure
{
    None,

    /// <summary>The record is not at the expected epoch (someone else moved first); retry with <see cref="AcquireResult.Current"/>.</summary>
    EpochMismatch,

    /// <summary>Another node holds the sub-unit; it must be fenced (RevokeNodeAsync) or release first.</summary>
    HeldByOther,

    /// <summary>The caller's own registration is gone (lease lapsed or fenced): it may take nothing.</summary>
    NotMember,
}

/// <summary>Outcome of <see cref="EpochFencing.TryAcquireAsync"/>; <see cref="Current"/> is the record as seen (null = never owned).</summary>
internal sealed record AcquireResult(OwnershipToken? Token, OwnerRecord? Current, AcquireFailure Failure)
{
    public bool Acquired => Token is not null;
}
