using System.Collections.Concurrent;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// One owner's token-ordering endpoint for one volume: a <see cref="TokenOrderingNode"/> driven
/// from a mailbox so that exactly one thread at a time is inside it (the node is not thread safe,
/// and the in-process transport delivers from the sender's thread). Whoever posts work drains the
/// mailbox unless another thread already does; a message a node sends to itself while draining is
/// just queued, so the node is never re-entered. When the node applies a request, the owner part
/// waiting under that id is handed to the owner, which enqueues its stripe locks at once — so the
/// owner's lock order is the token order.
/// </summary>
internal sealed class OrderingMailbox : IApplySink
{
    private readonly ConcurrentQueue<Work> _queue = new();
    private readonly Dictionary<RequestId, PendingPart> _parts = [];
    private readonly HashSet<NodeId> _failed = [];
    private readonly Func<OwnerRequest, ValueTask<int>> _apply;
    private TokenOrderingNode? _node;
    private int _draining;
    private bool _stopped;

    public OrderingMailbox(NodeId self, Func<OwnerRequest, ValueTask<int>> apply)
    {
        Self = self;
        _apply = apply;
    }

    public NodeId Self { get; }

    /// <summary>The last protocol error (a malformed or unexpected message); null when none.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Parts waiting for their turn (tests: zero when idle). Only meaningful when quiescent.</summary>
    public int PendingParts => _parts.Count;

    public TokenOrderingNode Node => _node ?? throw new InvalidOperationException("mailbox not connected to a transport");

    public void Connect(ITokenTransport transport) => _node = new TokenOrderingNode(Self, transport, this);

    /// <summary>This owner's part of a multi-owner request arrived (the protocol's Data message).</summary>
    public Task<int> SubmitAsync(OwnerRequest request)
    {
        var part = new PendingPart(request);
        Post(new Work(WorkKind.Part, part, default, default));
        return part.Task;
    }

    /// <summary>A token or final from another owner.</summary>
    public void Deliver(in OrderingMessage message) => Post(new Work(WorkKind.Message, null, message, default));

    /// <summary>The epoch-change hook: <paramref name="node"/> is out; its requests here are aborted.</summary>
    public void NodeFailed(NodeId node) => Post(new Work(WorkKind.NodeFailed, null, default, node));

    /// <summary>
    /// This node is out: every part waiting here fails (as calls into a dead process would), and
    /// parts that arrive later fail at once.
    /// </summary>
    public void Stop() => Post(new Work(WorkKind.Stop, null, default, Self));

    /// <summary>This node is back in service (after a rebuild): parts are accepted again.</summary>
    public void Resume() => Post(new Work(WorkKind.Resume, null, default, Self));

    /// <summary>
    /// <paramref name="node"/> is back under a new epoch (its old connections fenced): requests
    /// naming it are accepted again.
    /// </summary>
    public void NodeRejoined(NodeId node) => Post(new Work(WorkKind.Rejoined, null, default, node));

    void IApplySink.Apply(RequestId request)
    {
        if (!_parts.Remove(request, out PendingPart? part))
        {
            LastError = new InvalidOperationException($"{Self}: applied {request} without a part");
            return;
        }

        ValueTask<int> result;
        try
        {
            result = _apply(part.Request);
        }
        catch (Exception ex)
        {
            result = ValueTask.FromException<int>(ex);
        }

        part.CompleteFrom(result);
    }

    private void Post(Work work)
    {
        _queue.Enqueue(work);
        while (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            while (_queue.TryDequeue(out Work next))
            {
                Process(next);
            }

            Volatile.Write(ref _draining, 0);
            if (_queue.IsEmpty)
            {
                return;
            }
        }
    }

    private void Process(in Work work)
    {
        switch (work.Kind)
        {
            case WorkKind.Part:
                OwnerRequest request = work.Part!.Request;
                try
                {
                    if (_stopped)
                    {
                        throw new NodeUnavailableException(Self);
                    }

                    // The node silently drops messages of requests naming a failed node; a part must fail instead.
                    if (IsFailedInvolved(request))
                    {
                        throw new NodeUnavailableException(FirstFailed(request));
                    }

                    if (!_parts.TryAdd(request.Id, work.Part))
                    {
                        throw new InvalidOperationException($"{Self}: duplicate part for {request.Id}");
                    }

                    Node.OnData(OrderingMessage.Data(request.Id, request.Origin, request.Owners));
                }
                catch (Exception ex)
                {
                    _parts.Remove(request.Id);
                    work.Part.Fail(ex);
                }

                break;
            case WorkKind.Message:
                try
                {
                    Node.OnMessage(work.Message);
                }
                catch (Exception ex)
                {
                    LastError = ex;
                }

                break;
            case WorkKind.NodeFailed:
                _failed.Add(work.Failed);
                var aborted = new List<RequestId>();
                Node.OnNodeFailed(work.Failed, aborted);
                foreach (RequestId id in aborted)
                {
                    if (_parts.Remove(id, out PendingPart? part))
                    {
                        part.Fail(new NodeUnavailableException(work.Failed));
                    }
                }

                break;
            case WorkKind.Resume:
                _stopped = false;
                break;
            case WorkKind.Rejoined:
                _failed.Remove(work.Failed);
                Node.OnNodeRejoined(work.Failed);
                break;
            case WorkKind.Stop:
                _stopped = true;
                var parts = new List<KeyValuePair<RequestId, PendingPart>>(_parts);
                _parts.Clear();
                foreach ((RequestId id, PendingPart part) in parts)
                {
                    Node.Abort(id);
                    part.Fail(new NodeUnavailableException(Self));
                }

                break;
        }
    }

    private bool IsFailedInvolved(OwnerRequest request) => _failed.Count > 0 && FirstFailed(request) != NoNode;

    private static readonly NodeId NoNode = new(-1);

    private NodeId FirstFailed(OwnerRequest request)
    {
        if (_failed.Contains(request.Origin))
        {
            return request.Origin;
        }

        foreach (NodeId node in request.Owners.Span)
        {
            if (_failed.Contains(node))
            {
                return node;
            }
        }

        return NoNode;
    }

    private enum WorkKind : byte
    {
        Part,
        Message,
        NodeFailed,
        Stop,
        Resume,
        Rejoined,
    }

    private readonly record struct Work(WorkKind Kind, PendingPart? Part, OrderingMessage Message, NodeId Failed);

    private sealed class PendingPart(OwnerRequest request)
    {
        private readonly TaskCompletionSource<int> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OwnerRequest Request { get; } = request;

        public Task<int> Task => _done.Task;

        public void Fail(Exception ex)
        {
            Request.Vote?.Abort(ex);
            _done.TrySetException(ex);
        }

        public void CompleteFrom(ValueTask<int> result)
        {
            if (result.IsCompletedSuccessfully)
            {
                _done.TrySetResult(result.Result);
                return;
            }

            _ = AwaitAsync(result);
        }

        private async Task AwaitAsync(ValueTask<int> result)
        {
            try
            {
                _done.TrySetResult(await result.ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }
    }
}
