namespace Tessera.Cluster.Ordering;

internal enum OrderingMessageKind : byte
{
    /// <summary>Originator → every owner: the request (its payload travels beside it in the cluster frame).</summary>
    Data = 1,

    /// <summary>Owner nᵢ → nᵢ₊₁: the token with the running timestamp. Exactly m−1 per request.</summary>
    Token = 2,

    /// <summary>Last owner nₘ → n₁…nₘ₋₁: the final timestamp. Exactly m−1 per request.</summary>
    Final = 3,
}

/// <summary>
/// One protocol message. Transport independent: the inter-node protocol serialises these
/// fields into a frame; the simulation hands the struct over as is.
/// </summary>
internal readonly struct OrderingMessage
{
    private OrderingMessage(OrderingMessageKind kind, RequestId request, NodeId origin, long timestamp, ReadOnlyMemory<NodeId> nodes)
    {
        Kind = kind;
        Request = request;
        Origin = origin;
        Timestamp = timestamp;
        Nodes = nodes;
    }

    public OrderingMessageKind Kind { get; }

    public RequestId Request { get; }

    /// <summary>The node that submitted the request (Data and Token).</summary>
    public NodeId Origin { get; }

    /// <summary>Token: the lower bound fixed so far along the chain. Final: the request's final timestamp.</summary>
    public long Timestamp { get; }

    /// <summary>The owner set S(R), strictly increasing (Data and Token; empty for Final).</summary>
    public ReadOnlyMemory<NodeId> Nodes { get; }

    public static OrderingMessage Data(RequestId request, NodeId origin, ReadOnlyMemory<NodeId> nodes) =>
        new(OrderingMessageKind.Data, request, origin, 0, nodes);

    public static OrderingMessage Token(RequestId request, NodeId origin, ReadOnlyMemory<NodeId> nodes, long timestamp) =>
        new(OrderingMessageKind.Token, request, origin, timestamp, nodes);

    public static OrderingMessage Final(RequestId request, long timestamp) =>
        new(OrderingMessageKind.Final, request, default, timestamp, ReadOnlyMemory<NodeId>.Empty);

    public override string ToString() => Kind switch
    {
        OrderingMessageKind.Token => $"Token({Request}, ts={Timestamp})",
        OrderingMessageKind.Final => $"Final({Request}, ts={Timestamp})",
        _ => $"Data({Request})",
    };
}
