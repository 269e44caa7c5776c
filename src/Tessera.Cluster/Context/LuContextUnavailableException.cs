namespace Tessera.Cluster.Context;

/// <summary>
/// A context change could not be committed or confirmed: the metadata store is unreachable, this node
/// has been fenced, or contention outlasted the retry bound. The command fails; the change did not take
/// effect unless <see cref="MayHaveCommitted"/> says it might have (the store accepted it, but the
/// barrier could not be completed). Tessera.Scsi should map it to NOT READY, LOGICAL UNIT NOT ACCESSIBLE,
/// ASYMMETRIC ACCESS STATE TRANSITION (04h/0Ah) — docs/cluster-context.md "Failure cases"; until it
/// knows this type, <c>LogicalUnit</c> reports HARDWARE ERROR, INTERNAL TARGET FAILURE.
/// </summary>
internal sealed class LuContextUnavailableException : Exception
{
    public LuContextUnavailableException(string message, Exception? inner = null, bool mayHaveCommitted = false)
        : base(message, inner)
    {
        MayHaveCommitted = mayHaveCommitted;
    }

    public bool MayHaveCommitted { get; }
}
