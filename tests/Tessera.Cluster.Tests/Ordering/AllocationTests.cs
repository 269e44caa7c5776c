using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

public sealed class AllocationTests
{
    [Fact]
    public void SteadyStateRequestsAllocateNothing()
    {
        var loop = new Loopback(4);
        NodeId[][] sets =
        [
            ManualNetwork.Set(0, 1, 2, 3),
            ManualNetwork.Set(1, 3),
            ManualNetwork.Set(2),
            ManualNetwork.Set(0, 2, 3),
        ];

        ulong id = 0;
        void RunBatch(int count)
        {
            for (int i = 0; i < count; i++)
            {
                // Several requests in flight at once, so entries queue and wait behind each other.
                for (int k = 0; k < sets.Length; k++)
                {
                    NodeId[] set = sets[k];
                    loop.Nodes[(k + i) % 4].Submit(new RequestId(id++), set);
                }

                loop.Drain();
            }
        }

        RunBatch(2_000);
        long applied = loop.Applied;
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunBatch(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(10_000L * (4 + 2 + 1 + 3), loop.Applied - applied);
        Assert.All(loop.Nodes, n => Assert.Equal(0, n.PendingCount));
    }

    private sealed class Loopback : ITokenTransport, IApplySink
    {
        private readonly Queue<(NodeId To, OrderingMessage Message)> _queue = new(1024);

        public Loopback(int n)
        {
            Nodes = new TokenOrderingNode[n];
            for (int i = 0; i < n; i++)
            {
                Nodes[i] = new TokenOrderingNode(new NodeId(i), this, this);
            }
        }

        public TokenOrderingNode[] Nodes { get; }

        public long Applied { get; private set; }

        public void Send(NodeId to, in OrderingMessage message) => _queue.Enqueue((to, message));

        public void Apply(RequestId request) => Applied++;

        public void Drain()
        {
            while (_queue.TryDequeue(out var m))
            {
                Nodes[m.To.Value].OnMessage(m.Message);
            }
        }
    }
}
