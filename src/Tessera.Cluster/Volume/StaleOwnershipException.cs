namespace Tessera.Cluster.Volume;

/// <summary>
/// An owner refused a request routed with an ownership map that is no longer current (the
/// sub-unit moved, or its epoch changed). The portal refreshes its view and retries.
/// </summary>
internal sealed class StaleOwnershipException(long subUnit, long expectedEpoch, long actualEpoch)
    : InvalidOperationException($"sub-unit {subUnit}: request carries epoch {expectedEpoch}, current ownership epoch is {actualEpoch} or owned elsewhere")
{
    public long SubUnit { get; } = subUnit;

    public long ExpectedEpoch { get; } = expectedEpoch;

    public long ActualEpoch { get; } = actualEpoch;
}
