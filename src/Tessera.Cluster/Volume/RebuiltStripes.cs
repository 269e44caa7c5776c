namespace Tessera.Cluster.Volume;

/// <summary>
/// Stripes of one volume whose stale node's column has been rebuilt in one session: a bit per
/// stripe, set under the stripe lock, read lock-free on the owner's I/O path.
/// </summary>
internal sealed class RebuiltStripes(long stripeCount, ColumnRebuilds.Session session)
{
    private readonly long[] _bits = new long[(stripeCount + 63) / 64];

    /// <summary>The session was dropped (membership changed): a rebuild under way must stop.</summary>
    public bool Aborted => session.Aborted;

    public bool Contains(long stripe) =>
        (ulong)stripe < (ulong)stripeCount && (Volatile.Read(ref _bits[stripe >> 6]) & (1L << (int)(stripe & 63))) != 0;

    public void Add(long stripe) => Interlocked.Or(ref _bits[stripe >> 6], 1L << (int)(stripe & 63));
}
