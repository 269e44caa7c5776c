using System.Net;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>The token-ordering protocol's messages carried by real links between real listeners.</summary>
public sealed class OrderingOverLinksTests
{
    [Fact]
    public void EveryMessageKindRoundTripsThroughItsFrame()
    {
        NodeId[] owners = [new(1), new(4), new(9)];
        OrderingMessage[] messages =
        [
            OrderingMessage.Data(RequestId.Create(new NodeId(4), 77), new NodeId(4), owners),
            OrderingMessage.Token(RequestId.Create(new NodeId(1), 5), new NodeId(1), owners, long.MaxValue - 3),
            OrderingMessage.Final(new RequestId(ulong.MaxValue), 12345),
        ];
        foreach (OrderingMessage message in messages)
        {
            var writer = new PooledBufferWriter();
            OrderingFrames.Write(writer, message);
            writer.Write([0xAA, 0xBB]); // a trailing caller payload
            ushort type = OrderingFrames.MessageTypeOf(message.Kind);

            Assert.True(OrderingFrames.TryRead(type, writer.WrittenSpan, out OrderingMessage read, out int consumed));
            Assert.Equal(writer.WrittenCount - 2, consumed);
            Assert.Equal(message.Kind, read.Kind);
            Assert.Equal(message.Request, read.Request);
            Assert.Equal(message.Origin, read.Origin);
            Assert.Equal(message.Timestamp, read.Timestamp);
            Assert.Equal(message.Nodes.ToArray(), read.Nodes.ToArray());
            Assert.False(OrderingFrames.TryRead(type, writer.WrittenSpan[..(consumed - 1)], out _, out _));
        }

        var final = new PooledBufferWriter();
        OrderingFrames.Write(final, messages[2]);
        Assert.False(OrderingFrames.TryRead(MessageType.OrderingData, final.WrittenSpan, out _, out _)); // Data needs owners
    }

    [Fact]
    public async Task FourNodesOrderConcurrentMultiOwnerRequestsConsistentlyOverTcp()
    {
        const int nodeCount = 4, requests = 1_500;
        var nodes = new Node[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            nodes[i] = new Node(i);
        }

        foreach (Node node in nodes)
        {
            node.Connect(nodes);
        }

        try
        {
            var random = new Random(11);
            var plans = new List<(int Origin, RequestId Id, NodeId[] Owners)>();
            var sequence = new ulong[nodeCount];
            for (int r = 0; r < requests; r++)
            {
                int origin = random.Next(nodeCount);
                NodeId[] owners = Enumerable.Range(0, nodeCount).Where(_ => random.Next(2) == 0).Select(n => new NodeId(n)).ToArray();
                if (owners.Length == 0)
                {
                    owners = [new NodeId(random.Next(nodeCount))];
                }

                plans.Add((origin, RequestId.Create(new NodeId(origin), ++sequence[origin]), owners));
            }

            // Every node submits its own requests from its own thread, all at once.
            await Task.WhenAll(Enumerable.Range(0, nodeCount).Select(n => Task.Run(() =>
            {
                foreach (var plan in plans.Where(p => p.Origin == n))
                {
                    nodes[n].Submit(plan.Id, plan.Owners);
                }
            })));

            long expected = plans.Sum(p => (long)p.Owners.Length);
            await TransportHost.WaitUntil(() => nodes.Sum(n => n.AppliedCount) == expected, $"{expected} applied parts", seconds: 60);

            AssertAcyclic(nodes.Select(n => n.Applied).ToArray());
            foreach (Node node in nodes)
            {
                Assert.Equal(0, node.Pending);
                Assert.Equal(0, node.PostFailures);
            }

            // At most m−1 token messages per request.
            long tokens = nodes.Sum(n => n.TokensSent);
            Assert.True(tokens <= plans.Sum(p => (long)p.Owners.Length - 1), $"{tokens} tokens");
        }
        finally
        {
            foreach (Node node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>The union of all nodes' apply orders has no cycle (Kahn's algorithm over consecutive pairs).</summary>
    private static void AssertAcyclic(IReadOnlyList<RequestId>[] orders)
    {
        var successors = new Dictionary<RequestId, HashSet<RequestId>>();
        var indegree = new Dictionary<RequestId, int>();
        foreach (IReadOnlyList<RequestId> order in orders)
        {
            for (int i = 0; i < order.Count; i++)
            {
                indegree.TryAdd(order[i], 0);
                successors.TryAdd(order[i], []);
                if (i > 0 && successors[order[i - 1]].Add(order[i]))
                {
                    indegree[order[i]]++;
                }
            }
        }

        var ready = new Queue<RequestId>(indegree.Where(kv => kv.Value == 0).Select(kv => kv.Key));
        int visited = 0;
        while (ready.TryDequeue(out RequestId request))
        {
            visited++;
            foreach (RequestId next in successors[request])
            {
                if (--indegree[next] == 0)
                {
                    ready.Enqueue(next);
                }
            }
        }

        Assert.Equal(indegree.Count, visited);
    }

    private sealed class Node : IApplySink, IAsyncDisposable
    {
        private readonly object _lock = new();
        private readonly InterNodeServer _server;
        private readonly Dictionary<NodeId, PeerLink> _links = [];
        private readonly TokenOrderingNode _ordering;
        private readonly List<RequestId> _applied = [];

        public Node(int id)
        {
            Id = new NodeId(id);
            InterNodeOptions options = TransportHost.ClientOptions(nodeId: $"n{id}");
            _server = new InterNodeServer(options);
            OrderingFrameHandler.RegisterOn(_server, new OrderingFrameHandler(message =>
            {
                lock (_lock)
                {
                    _ordering!.OnMessage(message);
                }
            }));
            EndPoint = _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
            _ordering = new TokenOrderingNode(Id, new LinkTokenTransport(to => _links[to]), this);
        }

        public NodeId Id { get; }

        public IPEndPoint EndPoint { get; }

        public IReadOnlyList<RequestId> Applied
        {
            get
            {
                lock (_lock)
                {
                    return [.. _applied];
                }
            }
        }

        public long AppliedCount
        {
            get
            {
                lock (_lock)
                {
                    return _applied.Count;
                }
            }
        }

        public int Pending
        {
            get
            {
                lock (_lock)
                {
                    return _ordering.PendingCount;
                }
            }
        }

        public long TokensSent
        {
            get
            {
                lock (_lock)
                {
                    return _ordering.TokensSent;
                }
            }
        }

        public long PostFailures => _links.Values.Sum(l => l.PostFailures);

        public void Connect(Node[] all)
        {
            foreach (Node other in all.Where(o => o.Id != Id))
            {
                _links[other.Id] = new PeerLink(other.EndPoint, TransportHost.ClientOptions(nodeId: $"n{Id.Value}"));
            }
        }

        public void Submit(RequestId request, NodeId[] owners)
        {
            lock (_lock)
            {
                Assert.True(_ordering.Submit(request, owners));
            }
        }

        public void Apply(RequestId request) => _applied.Add(request); // under _lock: called from the node's methods

        public async ValueTask DisposeAsync()
        {
            foreach (PeerLink link in _links.Values)
            {
                await link.DisposeAsync();
            }

            await _server.DisposeAsync();
        }
    }
}
