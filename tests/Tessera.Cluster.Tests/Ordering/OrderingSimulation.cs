using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>A protocol under simulation: the real <see cref="TokenOrderingNode"/> or a test variant.</summary>
internal interface ISimulatedNode
{
    int PendingCount { get; }

    bool Submit(RequestId request, ReadOnlyMemory<NodeId> nodes);

    void Deliver(in OrderingMessage message);

    void OnNodeFailed(NodeId failed);
}

internal delegate ISimulatedNode SimulatedNodeFactory(NodeId self, ITokenTransport transport, IApplySink sink);

internal sealed record SimulationOptions(
    int Seed,
    int NodeCount,
    int RequestCount,
    bool FifoLinks = false,
    int MaxDelay = 100,
    // Probability that one message is delayed ×20: long overtakes on any link.
    double SpikeProbability = 0.05,
    // Submission window in ticks; smaller means more requests in flight at once.
    int SubmitWindow = 10_000,
    double OriginIsFirstOwnerProbability = 0.5,
    // Crash one node at this tick (and drop every message to it from then on); null: no failure.
    long? CrashAt = null,
    // Each survivor learns of the crash (epoch revoked) within this many ticks after it.
    int DetectionWindow = 500);

internal sealed class SimulationResult
{
    public required SimulationOptions Options { get; init; }

    /// <summary>Owner set per request index; null for a request that was never submitted.</summary>
    public required NodeId[]?[] Owners { get; init; }

    public required NodeId[] Origins { get; init; }

    public required List<int>[] ApplyOrders { get; init; }

    public required int[] PendingAtEnd { get; init; }

    public int? CrashedNode { get; init; }

    public long DataMessages { get; init; }

    public long TokenMessages { get; init; }

    public long FinalMessages { get; init; }

    public long DroppedMessages { get; init; }

    public long EndTime { get; init; }

    /// <summary>Most requests submitted but not yet applied on every owner at one instant.</summary>
    public int MaxInFlight { get; init; }

    /// <summary>Time-weighted mean of requests in flight over the run.</summary>
    public double MeanInFlight { get; init; }

    public int SubmittedCount => Owners.Count(o => o is not null);

    /// <summary>Σ(m−1) over submitted requests: the token bound, and what the protocol must reach.</summary>
    public long ExpectedTokenMessages => Owners.Where(o => o is not null).Sum(o => (long)o!.Length - 1);

    public bool Involves(int request, int node) =>
        Origins[request].Value == node || (Owners[request] is { } set && Array.IndexOf(set, new NodeId(node)) >= 0);
}

/// <summary>
/// Deterministic discrete-event simulation of one cluster: a seeded <see cref="Random"/>, a priority
/// queue of events ordered by (virtual time, sequence), a random delay per message. Without
/// <see cref="SimulationOptions.FifoLinks"/> messages on the same link overtake each other freely;
/// with it, each link (from, to) delivers in send order.
/// </summary>
internal sealed class OrderingSimulation
{
    private readonly SimulationOptions _options;
    private readonly Random _random;
    private readonly PriorityQueue<SimEvent, (long Time, long Sequence)> _events = new();
    private readonly ISimulatedNode[] _nodes;
    private readonly List<int>[] _applied;
    private readonly long[,] _linkTail;
    private readonly NodeId[]?[] _owners;
    private readonly NodeId[] _origins;
    private long _now;
    private long _sequence;
    private long _data;
    private long _tokens;
    private long _finals;
    private long _dropped;
    private int? _crashed;
    private readonly int[] _remainingParts;
    private int _inFlight;
    private int _maxInFlight;
    private long _lastChange;
    private double _inFlightArea;

    public OrderingSimulation(SimulationOptions options, SimulatedNodeFactory factory)
    {
        _options = options;
        _random = new Random(options.Seed);
        int n = options.NodeCount;
        _nodes = new ISimulatedNode[n];
        _applied = new List<int>[n];
        _linkTail = new long[n, n];
        _owners = new NodeId[]?[options.RequestCount];
        _origins = new NodeId[options.RequestCount];
        _remainingParts = new int[options.RequestCount];
        for (int i = 0; i < n; i++)
        {
            _applied[i] = [];
            _nodes[i] = factory(new NodeId(i), new Link(this, i), new Sink(this, _applied[i]));
        }
    }

    public static SimulationResult Run(SimulationOptions options, SimulatedNodeFactory factory) =>
        new OrderingSimulation(options, factory).Run();

    public static SimulationOptions RandomOptions(int seed, int requestCount, bool fifo = false)
    {
        var r = new Random(unchecked(seed * 7919 + 17));
        return new SimulationOptions(
            seed,
            NodeCount: r.Next(3, 13),
            RequestCount: requestCount,
            FifoLinks: fifo,
            MaxDelay: r.Next(5, 200),
            SpikeProbability: r.NextDouble() * 0.1,
            SubmitWindow: Math.Max(1, requestCount * r.Next(1, 12)),
            OriginIsFirstOwnerProbability: r.NextDouble());
    }

    public SimulationResult Run()
    {
        int n = _options.NodeCount;
        for (int r = 0; r < _options.RequestCount; r++)
        {
            // Random owner set of random size 1..n, then an origin: the first owner or any node (a portal).
            int size = _random.Next(1, n + 1);
            int[] all = Enumerable.Range(0, n).ToArray();
            for (int i = 0; i < size; i++)
            {
                int j = _random.Next(i, n);
                (all[i], all[j]) = (all[j], all[i]);
            }

            NodeId[] set = all.Take(size).Order().Select(v => new NodeId(v)).ToArray();
            _origins[r] = _random.NextDouble() < _options.OriginIsFirstOwnerProbability ? set[0] : new NodeId(_random.Next(n));
            long at = _random.Next(_options.SubmitWindow);
            Schedule(at, new SimEvent(SimEventKind.Submit, -1, _origins[r].Value, r, set, default));
        }

        if (_options.CrashAt is long crashAt)
        {
            int victim = _random.Next(n);
            Schedule(crashAt, new SimEvent(SimEventKind.Crash, -1, victim, -1, null, default));
            for (int i = 0; i < n; i++)
            {
                if (i != victim)
                {
                    Schedule(crashAt + 1 + _random.Next(_options.DetectionWindow), new SimEvent(SimEventKind.Detect, victim, i, -1, null, default));
                }
            }
        }

        while (_events.TryDequeue(out SimEvent e, out (long Time, long Sequence) key))
        {
            _now = key.Time;
            if (_crashed == e.To)
            {
                _dropped += e.Kind == SimEventKind.Deliver ? 1 : 0;
                continue;
            }

            switch (e.Kind)
            {
                case SimEventKind.Submit:
                    if (_nodes[e.To].Submit(new RequestId((ulong)e.Request), e.Set))
                    {
                        _owners[e.Request] = e.Set;
                        _remainingParts[e.Request] = e.Set!.Length;
                        TrackInFlight(+1);
                    }

                    break;
                case SimEventKind.Deliver:
                    _nodes[e.To].Deliver(e.Message);
                    break;
                case SimEventKind.Crash:
                    _crashed = e.To;
                    break;
                case SimEventKind.Detect:
                    _nodes[e.To].OnNodeFailed(new NodeId(e.From));
                    break;
            }
        }

        return new SimulationResult
        {
            Options = _options,
            Owners = _owners,
            Origins = _origins,
            ApplyOrders = _applied,
            PendingAtEnd = _nodes.Select(x => x.PendingCount).ToArray(),
            CrashedNode = _crashed,
            DataMessages = _data,
            TokenMessages = _tokens,
            FinalMessages = _finals,
            DroppedMessages = _dropped,
            EndTime = _now,
            MaxInFlight = _maxInFlight,
            MeanInFlight = _now == 0 ? 0 : _inFlightArea / _now,
        };
    }

    private void Send(int from, NodeId to, in OrderingMessage message)
    {
        switch (message.Kind)
        {
            case OrderingMessageKind.Data: _data++; break;
            case OrderingMessageKind.Token: _tokens++; break;
            case OrderingMessageKind.Final: _finals++; break;
        }

        long delay = 1 + _random.Next(_options.MaxDelay);
        if (_random.NextDouble() < _options.SpikeProbability)
        {
            delay *= 20;
        }

        long at = _now + delay;
        if (_options.FifoLinks)
        {
            // Never before the previous message on this link; the sequence number breaks the tie in send order.
            at = Math.Max(at, _linkTail[from, to.Value]);
            _linkTail[from, to.Value] = at;
        }

        Schedule(at, new SimEvent(SimEventKind.Deliver, from, to.Value, (int)message.Request.Value, null, message));
    }

    private void Applied(int request)
    {
        if (--_remainingParts[request] == 0)
        {
            TrackInFlight(-1);
        }
    }

    private void TrackInFlight(int delta)
    {
        _inFlightArea += (double)_inFlight * (_now - _lastChange);
        _lastChange = _now;
        _inFlight += delta;
        _maxInFlight = Math.Max(_maxInFlight, _inFlight);
    }

    private void Schedule(long at, SimEvent e) => _events.Enqueue(e, (at, _sequence++));

    private enum SimEventKind : byte
    {
        Submit,
        Deliver,
        Crash,
        Detect,
    }

    private readonly record struct SimEvent(SimEventKind Kind, int From, int To, int Request, NodeId[]? Set, OrderingMessage Message);

    private sealed class Link(OrderingSimulation simulation, int from) : ITokenTransport
    {
        public void Send(NodeId to, in OrderingMessage message) => simulation.Send(from, to, message);
    }

    private sealed class Sink(OrderingSimulation simulation, List<int> applied) : IApplySink
    {
        public void Apply(RequestId request)
        {
            applied.Add((int)request.Value);
            simulation.Applied((int)request.Value);
        }
    }
}

/// <summary>Adapts the production node to the simulation.</summary>
internal sealed class RealNode(NodeId self, ITokenTransport transport, IApplySink sink) : ISimulatedNode
{
    public static readonly SimulatedNodeFactory Factory = (self, transport, sink) => new RealNode(self, transport, sink);

    public TokenOrderingNode Node { get; } = new(self, transport, sink);

    public int PendingCount => Node.PendingCount;

    public bool Submit(RequestId request, ReadOnlyMemory<NodeId> nodes) => Node.Submit(request, nodes);

    public void Deliver(in OrderingMessage message) => Node.OnMessage(message);

    public void OnNodeFailed(NodeId failed) => Node.OnNodeFailed(failed);
}
