namespace Tessera.Cluster.Ordering;

/// <summary>
/// A node's place in the one global order that tokens follow (C3): a token only ever moves
/// from a smaller id to a larger one.
/// </summary>
internal readonly record struct NodeId(int Value) : IComparable<NodeId>
{
    public int CompareTo(NodeId other) => Value.CompareTo(other.Value);

    public static bool operator <(NodeId left, NodeId right) => left.Value < right.Value;

    public static bool operator >(NodeId left, NodeId right) => left.Value > right.Value;

    public override string ToString() => $"n{Value}";
}
