using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>
/// The deliberately wrong variant: each owner fixes a request's place by appending it to its local
/// queue when the token arrives (n₁: when it generates it), passes the token on, and applies in that
/// queue order — no timestamps, no Final. A token that skips a node can overtake another token on a
/// later node (A orders R1 &lt; R3; R1 goes A→B→C, R3 goes A→C and reaches C first), so the union of
/// apply orders gets cycles. Kept here only to show the checker catches it.
/// </summary>
internal sealed class NaiveChainNode(NodeId self, ITokenTransport transport, IApplySink sink) : ISimulatedNode
{
    public static readonly SimulatedNodeFactory Factory = (self, transport, sink) => new NaiveChainNode(self, transport, sink);

    private readonly Dictionary<RequestId, (bool HasData, bool Placed, ReadOnlyMemory<NodeId> Nodes)> _state = [];
    private readonly Queue<RequestId> _queue = new();

    public int PendingCount => _state.Count;

    public bool Submit(RequestId request, ReadOnlyMemory<NodeId> nodes)
    {
        foreach (NodeId node in nodes.Span)
        {
            OrderingMessage data = OrderingMessage.Data(request, self, nodes);
            if (node == self)
            {
                Deliver(data);
            }
            else
            {
                transport.Send(node, data);
            }
        }

        return true;
    }

    public void Deliver(in OrderingMessage message)
    {
        _state.TryGetValue(message.Request, out var s);
        s.Nodes = message.Nodes.IsEmpty ? s.Nodes : message.Nodes;
        int index = s.Nodes.Span.BinarySearch(self);
        if (message.Kind == OrderingMessageKind.Data)
        {
            s.HasData = true;
        }

        bool place = message.Kind == OrderingMessageKind.Token || (message.Kind == OrderingMessageKind.Data && index == 0);
        _state[message.Request] = s;
        if (place)
        {
            s.Placed = true;
            _state[message.Request] = s;
            _queue.Enqueue(message.Request);
            if (index < s.Nodes.Length - 1)
            {
                transport.Send(s.Nodes.Span[index + 1], OrderingMessage.Token(message.Request, message.Origin, s.Nodes, 0));
            }
        }

        while (_queue.TryPeek(out RequestId head) && _state[head].HasData)
        {
            _queue.Dequeue();
            _state.Remove(head);
            sink.Apply(head);
        }
    }

    public void OnNodeFailed(NodeId failed) => throw new NotSupportedException();
}
