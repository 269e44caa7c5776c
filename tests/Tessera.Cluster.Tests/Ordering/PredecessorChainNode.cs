using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>
/// The "fix" suggested for the naive chain, kept in the tests to show it is not enough: the token of R
/// carries, for every later owner y, the requests already placed before R at earlier owners that
/// will also visit y; y places R only after all of them. It stops the overtake of
/// docs/token-ordering.md §3.1, but on §3.2 its constraints form a cycle: it deadlocks (or, without a
/// common later node, leaves the union of apply orders cyclic). Same Σ(m−1) token messages.
/// </summary>
internal sealed class PredecessorChainNode : ISimulatedNode
{
    private readonly NodeId _self;
    private readonly ITokenTransport _transport;
    private readonly IApplySink _sink;

    // What each token carries: (predecessor, node where it must come first). One token per request is
    // in flight at a time, so a table shared by the simulated nodes models the piggyback exactly.
    private readonly Dictionary<RequestId, List<(RequestId Before, NodeId At)>> _carried;
    private readonly Dictionary<RequestId, ReadOnlyMemory<NodeId>> _known = [];
    private readonly Dictionary<RequestId, ReadOnlyMemory<NodeId>> _knownForever = [];
    private readonly HashSet<RequestId> _hasData = [];
    private readonly HashSet<RequestId> _placed = [];
    private readonly List<RequestId> _history = [];
    private readonly List<OrderingMessage> _deferred = [];
    private readonly Queue<RequestId> _queue = new();

    private PredecessorChainNode(NodeId self, ITokenTransport transport, IApplySink sink, Dictionary<RequestId, List<(RequestId, NodeId)>> carried)
    {
        _self = self;
        _transport = transport;
        _sink = sink;
        _carried = carried;
    }

    /// <summary>A factory whose nodes share one piggyback table: use one per simulation run.</summary>
    public static SimulatedNodeFactory NewFactory()
    {
        var carried = new Dictionary<RequestId, List<(RequestId, NodeId)>>();
        return (self, transport, sink) => new PredecessorChainNode(self, transport, sink, carried);
    }

    public int PendingCount => _known.Count;

    public bool Submit(RequestId request, ReadOnlyMemory<NodeId> nodes)
    {
        _carried[request] = [];
        foreach (NodeId node in nodes.Span)
        {
            OrderingMessage data = OrderingMessage.Data(request, _self, nodes);
            if (node == _self)
            {
                Deliver(data);
            }
            else
            {
                _transport.Send(node, data);
            }
        }

        return true;
    }

    public void Deliver(in OrderingMessage message)
    {
        _known[message.Request] = message.Nodes;
        int index = message.Nodes.Span.BinarySearch(_self);
        if (message.Kind == OrderingMessageKind.Data)
        {
            _hasData.Add(message.Request);
            if (index == 0)
            {
                Place(message.Request, message.Nodes, index, message.Origin);
            }
        }
        else
        {
            _deferred.Add(message);
        }

        // Place every token whose predecessors here are all placed; placing one may release another.
        bool progress = true;
        while (progress)
        {
            progress = false;
            for (int i = 0; i < _deferred.Count; i++)
            {
                OrderingMessage token = _deferred[i];
                if (_carried[token.Request].All(c => c.At != _self || _placed.Contains(c.Before)))
                {
                    _deferred.RemoveAt(i);
                    Place(token.Request, token.Nodes, token.Nodes.Span.BinarySearch(_self), token.Origin);
                    progress = true;
                    break;
                }
            }
        }

        while (_queue.TryPeek(out RequestId head) && _hasData.Contains(head))
        {
            _queue.Dequeue();
            _known.Remove(head);
            _sink.Apply(head);
        }
    }

    public void OnNodeFailed(NodeId failed) => throw new NotSupportedException();

    private void Place(RequestId request, ReadOnlyMemory<NodeId> nodes, int index, NodeId origin)
    {
        List<(RequestId Before, NodeId At)> carried = _carried[request];
        ReadOnlySpan<NodeId> set = nodes.Span;
        foreach (RequestId earlier in _history)
        {
            ReadOnlySpan<NodeId> earlierSet = _knownForever[earlier].Span;
            for (int j = index + 1; j < set.Length; j++)
            {
                if (earlierSet.BinarySearch(set[j]) >= 0)
                {
                    carried.Add((earlier, set[j]));
                }
            }
        }

        _history.Add(request);
        _knownForever[request] = nodes;
        _placed.Add(request);
        _queue.Enqueue(request);
        if (index < set.Length - 1)
        {
            _transport.Send(set[index + 1], OrderingMessage.Token(request, origin, nodes, 0));
        }
    }
}
