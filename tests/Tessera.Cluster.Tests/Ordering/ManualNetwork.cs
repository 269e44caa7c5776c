using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>
/// A network whose messages wait until the test delivers them, in the order the test chooses:
/// scripted adversarial schedules for the real node and the naive variant alike.
/// </summary>
internal sealed class ManualNetwork
{
    private readonly List<InFlight> _inFlight = [];

    public ManualNetwork(int nodeCount, SimulatedNodeFactory factory)
    {
        Nodes = new ISimulatedNode[nodeCount];
        Applied = new List<int>[nodeCount];
        for (int i = 0; i < nodeCount; i++)
        {
            Applied[i] = [];
            Nodes[i] = factory(new NodeId(i), new Link(this, i), new Sink(Applied[i]));
        }
    }

    public ISimulatedNode[] Nodes { get; }

    public List<int>[] Applied { get; }

    public IReadOnlyList<InFlight> Pending => _inFlight;

    public int Sent { get; private set; }

    public static NodeId[] Set(params int[] nodes) => nodes.Select(n => new NodeId(n)).ToArray();

    public void Submit(int origin, int request, params int[] owners) =>
        Assert.True(Nodes[origin].Submit(new RequestId((ulong)request), Set(owners)));

    /// <summary>Delivers the one in-flight message matching; fails the test if there is none.</summary>
    public void Deliver(OrderingMessageKind kind, int request, int to)
    {
        int index = _inFlight.FindIndex(m => m.Message.Kind == kind && m.Message.Request.Value == (ulong)request && m.To == to);
        Assert.True(index >= 0, $"no {kind} of r{request} in flight to n{to}; in flight: {string.Join(", ", _inFlight)}");
        InFlight m = _inFlight[index];
        _inFlight.RemoveAt(index);
        Nodes[to].Deliver(m.Message);
    }

    /// <summary>Delivers every message of one kind in flight now (not those they cause).</summary>
    public void DeliverAll(OrderingMessageKind kind)
    {
        foreach (InFlight m in _inFlight.Where(m => m.Message.Kind == kind).ToList())
        {
            _inFlight.Remove(m);
            Nodes[m.To].Deliver(m.Message);
        }
    }

    /// <summary>Delivers until nothing is in flight, oldest first.</summary>
    public void Drain()
    {
        while (_inFlight.Count > 0)
        {
            InFlight m = _inFlight[0];
            _inFlight.RemoveAt(0);
            Nodes[m.To].Deliver(m.Message);
        }
    }

    public int[]? FindCycle(int requestCount) => ApplyOrderChecker.FindCycle(requestCount, Applied);

    internal readonly record struct InFlight(int From, int To, OrderingMessage Message)
    {
        public override string ToString() => $"n{From}->n{To} {Message}";
    }

    private sealed class Link(ManualNetwork network, int from) : ITokenTransport
    {
        public void Send(NodeId to, in OrderingMessage message)
        {
            network.Sent++;
            network._inFlight.Add(new InFlight(from, to.Value, message));
        }
    }

    private sealed class Sink(List<int> applied) : IApplySink
    {
        public void Apply(RequestId request) => applied.Add((int)request.Value);
    }
}
