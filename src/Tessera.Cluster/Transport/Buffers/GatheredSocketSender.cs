using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Tessera.Cluster.Transport.Buffers;

/// <summary>
/// Sends a multi-segment <see cref="ReadOnlySequence{T}"/> as one gathered send (sendmsg with an
/// iovec) through a reused <see cref="SocketAsyncEventArgs"/>, so a 1 MiB frame spread over pipe
/// blocks costs one system call and no Task (Socket.SendAsync(IList) allocates one per call).
/// </summary>
internal sealed class GatheredSocketSender : SocketAsyncEventArgs, IValueTaskSource<int>
{
    /// <summary>Well under IOV_MAX (1024 on Linux); the caller sends the rest next time round.</summary>
    private const int MaxSegments = 256;

    private readonly List<ArraySegment<byte>> _segments = new(32);
    private ManualResetValueTaskSourceCore<int> _source = new() { RunContinuationsAsynchronously = false };

    public GatheredSocketSender()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Sends as much of <paramref name="buffers"/> as the socket takes; returns the byte count.</summary>
    public ValueTask<int> SendAsync(Socket socket, in ReadOnlySequence<byte> buffers)
    {
        _segments.Clear();
        foreach (ReadOnlyMemory<byte> segment in buffers)
        {
            if (!MemoryMarshal.TryGetArray(segment, out ArraySegment<byte> array))
            {
                throw new InvalidOperationException("pipe memory without an array");
            }

            _segments.Add(array);
            if (_segments.Count == MaxSegments)
            {
                break;
            }
        }

        BufferList = _segments;
        _source.Reset();
        if (socket.SendAsync(this))
        {
            return new ValueTask<int>(this, _source.Version);
        }

        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success)
        {
            _source.SetResult(BytesTransferred);
        }
        else
        {
            _source.SetException(new SocketException((int)SocketError));
        }
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        try
        {
            return _source.GetResult(token);
        }
        finally
        {
            BufferList = null;
        }
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);
}
