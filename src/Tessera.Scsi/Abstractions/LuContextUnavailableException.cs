namespace Tessera.Scsi;

/// <summary>
/// An <see cref="ILuContext"/> could not commit or confirm a change: in a cluster, the metadata store is
/// unreachable, this node has been fenced, or contention outlasted the retry bound. The command fails
/// with NOT READY, LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION (04h/0Ah) — every
/// multipath stack retries that and may take another path, which is right for "this node cannot reach
/// the cluster state now" — and a task management function whose context change throws it answers
/// FUNCTION REJECTED. The change did not take effect unless <see cref="MayHaveCommitted"/> says it might
/// have (the store accepted it, but not every node confirmed it in time).
/// </summary>
public sealed class LuContextUnavailableException : Exception
{
    public LuContextUnavailableException(string message, Exception? innerException = null, bool mayHaveCommitted = false)
        : base(message, innerException)
    {
        MayHaveCommitted = mayHaveCommitted;
    }

    /// <summary>True when the change may have been committed even though it could not be confirmed.</summary>
    public bool MayHaveCommitted { get; }
}
