namespace Tessera.Cluster.Ordering;

/// <summary>
/// A node's state for one request it owns a part of, from the first message until the part is
/// applied or aborted. Pooled by <see cref="TokenOrderingNode"/>, so steady state allocates none.
/// </summary>
internal sealed class OrderingEntry
{
    public RequestId Id;
    public NodeId Origin;
    public ReadOnlyMemory<NodeId> Nodes;

    /// <summary>This node's index in <see cref="Nodes"/> (0 = the token generator).</summary>
    public int SelfIndex;

    /// <summary>Once placed: a lower bound of the final timestamp; once final: the final timestamp.</summary>
    public long Timestamp;

    public bool HasData;
    public bool Placed;
    public bool IsFinal;

    /// <summary>Position in <see cref="OrderingQueue"/>, −1 when not queued.</summary>
    public int HeapIndex = -1;

    public bool IsLast => SelfIndex == Nodes.Length - 1;

    public void Reset()
    {
        Id = default;
        Origin = default;
        Nodes = default;
        SelfIndex = 0;
        Timestamp = 0;
        HasData = false;
        Placed = false;
        IsFinal = false;
        HeapIndex = -1;
    }

    /// <summary>The order key: timestamp, then request id. Unique because request ids are.</summary>
    public bool Precedes(OrderingEntry other) =>
        Timestamp < other.Timestamp || (Timestamp == other.Timestamp && Id.Value < other.Id.Value);
}
