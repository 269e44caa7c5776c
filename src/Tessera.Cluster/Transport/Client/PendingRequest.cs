using System.Threading.Tasks.Sources;
using Tessera.Cluster.Transport.Buffers;

namespace Tessera.Cluster.Transport.Client;

/// <summary>
/// One outbound request from issue to completion, pooled per link: it stages the payload, is the
/// source of the caller's ValueTask, and completes on the thread pool as a work item of its own,
/// so neither the receive loop runs callers' continuations nor a completion allocates.
/// </summary>
internal sealed class PendingRequest : IValueTaskSource<Response>, IThreadPoolWorkItem
{
    private readonly Action<PendingRequest> _return;
    private ManualResetValueTaskSourceCore<Response> _core = new() { RunContinuationsAsynchronously = false };
    private Response _response;
    private Exception? _error;

    /// <summary>
    /// Completion waits for two parties: the outcome (response, timeout, close) and the issuer
    /// finishing its write. Until both are done the payload buffer may still be read.
    /// </summary>
    private int _parties;

    public PendingRequest(Action<PendingRequest> returnToPool) => _return = returnToPool;

    public PooledBufferWriter Payload { get; } = new();

    public ulong Id { get; private set; }

    public ushort MessageType { get; private set; }

    public long DeadlineTicks { get; private set; }

    public long TimeoutMilliseconds { get; private set; }

    public short Version => _core.Version;

    public void Prepare(ulong id, ushort messageType, long deadlineTicks, long timeoutMilliseconds)
    {
        Id = id;
        MessageType = messageType;
        DeadlineTicks = deadlineTicks;
        TimeoutMilliseconds = timeoutMilliseconds;
        _parties = 2;
    }

    public void SetResponse(Response response)
    {
        _response = response;
        Arrive();
    }

    public void SetFailure(Exception error)
    {
        _error = error;
        Arrive();
    }

    /// <summary>The issuer is done with the payload.</summary>
    public void IssuerDone() => Arrive();

    void IThreadPoolWorkItem.Execute()
    {
        Exception? error = _error;
        if (error is not null)
        {
            _error = null;
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(_response);
        }
    }

    public Response GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _response = default;
            _core.Reset();
            _return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Arrive()
    {
        if (Interlocked.Decrement(ref _parties) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }
}
