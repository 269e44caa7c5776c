namespace Tessera.Cluster.Ordering;

/// <summary>
/// One node's side of token-ordered atomic multicast (C3; protocol and proof in
/// docs/token-ordering.md). For a request R on owners n₁ &lt; … &lt; nₘ:
/// <list type="number">
/// <item>the originator sends R's data to every owner;</item>
/// <item>n₁, on R's data, places R with timestamp clock+1 and sends the token to n₂; each nᵢ
/// places R at max(token, clock+1) and passes the token on — m−1 token messages;</item>
/// <item>nₘ's timestamp is final; nₘ sends it to n₁…nₘ₋₁ — m−1 Final messages;</item>
/// <item>every owner applies in (timestamp, id) order the entries that are final and have their
/// data, never past a placed entry that is not final yet.</item>
/// </list>
/// Placing R fixes its place in the sense that matters: everything placed here later gets a larger
/// timestamp, so nothing that arrives after the token has left can be ordered before R.
/// Not thread safe: the owner of this object serialises every call (one loop or one lock per node).
/// </summary>
internal sealed class TokenOrderingNode
{
    private readonly ITokenTransport _transport;
    private readonly IApplySink _sink;
    private readonly Dictionary<RequestId, OrderingEntry> _entries = [];
    private readonly OrderingQueue _queue = new();
    private readonly Stack<OrderingEntry> _pool = new();
    private readonly HashSet<NodeId> _failed = [];
    private readonly HashSet<RequestId> _aborted = [];
    private long _clock;

    public TokenOrderingNode(NodeId self, ITokenTransport transport, IApplySink sink)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(sink);
        Self = self;
        _transport = transport;
        _sink = sink;
    }

    public NodeId Self { get; }

    /// <summary>Lamport clock: every timestamp this node has proposed or seen final is ≤ it.</summary>
    public long Clock => _clock;

    /// <summary>Requests with a part here that is neither applied nor aborted.</summary>
    public int PendingCount => _entries.Count;

    public long DataSent { get; private set; }

    public long TokensSent { get; private set; }

    public long FinalsSent { get; private set; }

    public long AppliedCount { get; private set; }

    public long AbortedCount { get; private set; }

    /// <summary>
    /// Starts request <paramref name="request"/> on the owner set <paramref name="nodes"/> (strictly
    /// increasing, not empty). Any node may originate, owner or not. The memory must stay unchanged
    /// until the request is applied or aborted everywhere: entries and messages reference it.
    /// Returns false, sending nothing, when an owner is a node this one has declared failed.
    /// </summary>
    public bool Submit(RequestId request, ReadOnlyMemory<NodeId> nodes)
    {
        ValidateOwnerSet(nodes.Span);
        if (IsFailedInvolved(Self, nodes.Span))
        {
            return false;
        }

        if (_entries.ContainsKey(request) || _aborted.Contains(request))
        {
            throw new InvalidOperationException($"{request} was already submitted");
        }

        bool selfIsOwner = false;
        OrderingMessage data = OrderingMessage.Data(request, Self, nodes);
        foreach (NodeId node in nodes.Span)
        {
            if (node == Self)
            {
                selfIsOwner = true;
                continue;
            }

            DataSent++;
            _transport.Send(node, data);
        }

        if (selfIsOwner)
        {
            OnData(data);
        }

        return true;
    }

    public void OnMessage(in OrderingMessage message)
    {
        switch (message.Kind)
        {
            case OrderingMessageKind.Data:
                OnData(message);
                break;
            case OrderingMessageKind.Token:
                OnToken(message);
                break;
            case OrderingMessageKind.Final:
                OnFinal(message);
                break;
            default:
                throw new InvalidDataException($"unknown ordering message kind {message.Kind}");
        }
    }

    public void OnData(in OrderingMessage message)
    {
        if (IsDropped(message))
        {
            return;
        }

        OrderingEntry entry = GetOrCreate(message);
        if (entry.HasData)
        {
            throw new InvalidDataException($"{Self}: duplicate data for {message.Request}");
        }

        entry.HasData = true;
        if (entry.SelfIndex == 0)
        {
            // n₁ generates the token the moment it learns of the request.
            Place(entry, 0);
        }

        ApplyReady();
    }

    public void OnToken(in OrderingMessage message)
    {
        if (IsDropped(message))
        {
            return;
        }

        OrderingEntry entry = GetOrCreate(message);
        if (entry.Placed || entry.SelfIndex == 0)
        {
            throw new InvalidDataException($"{Self}: unexpected token for {message.Request}");
        }

        Place(entry, message.Timestamp);
        ApplyReady();
    }

    public void OnFinal(in OrderingMessage message)
    {
        if (_aborted.Contains(message.Request))
        {
            return;
        }

        if (!_entries.TryGetValue(message.Request, out OrderingEntry? entry) || !entry.Placed || entry.IsFinal
            || message.Timestamp < entry.Timestamp)
        {
            // Final only leaves nₘ after the token passed here, and the chain never lowers a timestamp.
            throw new InvalidDataException($"{Self}: unexpected final for {message.Request}");
        }

        _clock = Math.Max(_clock, message.Timestamp);
        entry.Timestamp = message.Timestamp;
        entry.IsFinal = true;
        _queue.KeyIncreased(entry);
        ApplyReady();
    }

    /// <summary>
    /// Guarantees <paramref name="request"/> is not applied here from now on (if not applied yet) and
    /// drops its late messages. The cluster aborts a request on every owner it names; an abort on
    /// some owners only leaves the others waiting for messages that will never come.
    /// Returns whether an unapplied part was removed.
    /// </summary>
    public bool Abort(RequestId request)
    {
        _aborted.Add(request);
        if (!_entries.TryGetValue(request, out OrderingEntry? entry))
        {
            return false;
        }

        Remove(entry);
        AbortedCount++;
        ApplyReady();
        return true;
    }

    /// <summary>
    /// The epoch-change hook: <paramref name="failed"/> is out of the cluster (its epoch revoked in the
    /// metadata store). Every request here that names it — as owner or originator — and is not already
    /// final with its data is aborted; later messages of such requests are dropped. Final parts with
    /// data keep their fixed global position and are applied. Returns the number aborted and adds their
    /// ids to <paramref name="aborted"/> for the originator's retry.
    /// </summary>
    public int OnNodeFailed(NodeId failed, ICollection<RequestId>? aborted = null)
    {
        if (!_failed.Add(failed))
        {
            return 0;
        }

        List<OrderingEntry>? victims = null;
        foreach (OrderingEntry entry in _entries.Values)
        {
            if ((entry.IsFinal && entry.HasData) || (entry.Origin != failed && !Contains(entry.Nodes.Span, failed)))
            {
                continue;
            }

            (victims ??= []).Add(entry);
        }

        if (victims is null)
        {
            return 0;
        }

        foreach (OrderingEntry entry in victims)
        {
            aborted?.Add(entry.Id);
            _aborted.Add(entry.Id);
            Remove(entry);
            AbortedCount++;
        }

        ApplyReady();
        return victims.Count;
    }

    /// <summary>Forgets a node's failure, for its re-admission under a new epoch once its old connections are fenced.</summary>
    public void OnNodeRejoined(NodeId node) => _failed.Remove(node);

    private void Place(OrderingEntry entry, long floor)
    {
        // The proposal exceeds everything this node has placed or seen final, so any request that
        // reaches this node later is ordered after this one (step (a) of the proof).
        long timestamp = Math.Max(floor, _clock + 1);
        _clock = timestamp;
        entry.Timestamp = timestamp;
        entry.Placed = true;
        _queue.Insert(entry);

        ReadOnlySpan<NodeId> nodes = entry.Nodes.Span;
        if (!entry.IsLast)
        {
            TokensSent++;
            _transport.Send(nodes[entry.SelfIndex + 1], OrderingMessage.Token(entry.Id, entry.Origin, entry.Nodes, timestamp));
            return;
        }

        entry.IsFinal = true;
        if (nodes.Length > 1)
        {
            OrderingMessage final = OrderingMessage.Final(entry.Id, timestamp);
            for (int i = 0; i < nodes.Length - 1; i++)
            {
                FinalsSent++;
                _transport.Send(nodes[i], final);
            }
        }
    }

    private void ApplyReady()
    {
        // A placed entry that is not final holds back everything after it: its final timestamp may
        // still grow, but never below its proposal (step (b) of the proof).
        while (_queue.Count > 0)
        {
            OrderingEntry head = _queue.Min;
            if (!head.IsFinal || !head.HasData)
            {
                return;
            }

            RequestId id = head.Id;
            Remove(head);
            AppliedCount++;
            _sink.Apply(id);
        }
    }

    private OrderingEntry GetOrCreate(in OrderingMessage message)
    {
        if (_entries.TryGetValue(message.Request, out OrderingEntry? entry))
        {
            return entry;
        }

        ReadOnlySpan<NodeId> nodes = message.Nodes.Span;
        int index = nodes.BinarySearch(Self);
        if (index < 0)
        {
            throw new InvalidDataException($"{Self}: {message} names owners that do not include this node");
        }

        entry = _pool.Count > 0 ? _pool.Pop() : new OrderingEntry();
        entry.Id = message.Request;
        entry.Origin = message.Origin;
        entry.Nodes = message.Nodes;
        entry.SelfIndex = index;
        _entries.Add(message.Request, entry);
        return entry;
    }

    private void Remove(OrderingEntry entry)
    {
        if (entry.Placed)
        {
            _queue.Remove(entry);
        }

        _entries.Remove(entry.Id);
        entry.Reset();
        _pool.Push(entry);
    }

    private bool IsDropped(in OrderingMessage message) =>
        _aborted.Contains(message.Request) || IsFailedInvolved(message.Origin, message.Nodes.Span);

    private bool IsFailedInvolved(NodeId origin, ReadOnlySpan<NodeId> nodes)
    {
        if (_failed.Count == 0)
        {
            return false;
        }

        if (_failed.Contains(origin))
        {
            return true;
        }

        foreach (NodeId node in nodes)
        {
            if (_failed.Contains(node))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(ReadOnlySpan<NodeId> nodes, NodeId node) => nodes.BinarySearch(node) >= 0;

    private static void ValidateOwnerSet(ReadOnlySpan<NodeId> nodes)
    {
        if (nodes.IsEmpty)
        {
            throw new ArgumentException("a request needs at least one owner", nameof(nodes));
        }

        for (int i = 1; i < nodes.Length; i++)
        {
            if (!(nodes[i - 1] < nodes[i]))
            {
                throw new ArgumentException("owners must be strictly increasing in the global node order", nameof(nodes));
            }
        }
    }
}
