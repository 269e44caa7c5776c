namespace Tessera.Cluster.Ordering;

/// <summary>
/// Cluster-unique id of one multi-owner request. It also breaks ties between equal
/// timestamps, so two requests never share an order key.
/// </summary>
internal readonly record struct RequestId(ulong Value) : IComparable<RequestId>
{
    private const int SequenceBits = 40;

    /// <summary>Unique without coordination: the originating node in the high bits, its own counter below.</summary>
    public static RequestId Create(NodeId origin, ulong sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(origin.Value);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(origin.Value, 1 << (64 - SequenceBits));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sequence, 1UL << SequenceBits);
        return new RequestId(((ulong)origin.Value << SequenceBits) | sequence);
    }

    public int CompareTo(RequestId other) => Value.CompareTo(other.Value);

    public override string ToString() => $"r{Value}";
}
