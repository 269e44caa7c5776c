using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Tessera.Buffers;

/// <summary>
/// Sends a multi-segment <see cref="ReadOnlySequence{T}"/> with one gathered send through a
/// reused <see cref="SocketAsyncEventArgs"/>: no Task or list is allocated per send (the
/// IList overload of Socket.SendAsync returns a fresh Task each time).
/// </summary>
internal sealed class SocketSender : SocketAsyncEventArgs, IValueTaskSource<int>
{
    private const int MaxSegments = 256;
    private readonly List<ArraySegment<byte>> _segments = new(16);
    private ManualResetValueTaskSourceCore<int> _source = new() { RunContinuationsAsynchronously = false };

    public SocketSender() : base(unsafeSuppressExecutionContextFlow: true)
    {
    }

    /// <summary>Sends as much of <paramref name="buffers"/> as the socket takes; returns the byte count.</summary>
    public ValueTask<int> SendAsync(Socket socket, in ReadOnlySequence<byte> buffers)
    {
        _segments.Clear();
        foreach (var segment in buffers)
        {
            if (!MemoryMarshal.TryGetArray(segment, out var array)) throw new InvalidOperationException("pipe memory without an array");
            _segments.Add(array);
            // Stay well under IOV_MAX (1024 on Linux); the caller sends the rest next.
            if (_segments.Count == MaxSegments) break;
        }
        BufferList = _segments;
        _source.Reset();
        if (socket.SendAsync(this)) return new ValueTask<int>(this, _source.Version);
        return SocketError == SocketError.Success
            ? new ValueTask<int>(BytesTransferred)
            : ValueTask.FromException<int>(new SocketException((int)SocketError));
    }

    protected override void OnCompleted(SocketAsyncEventArgs e)
    {
        if (SocketError == SocketError.Success) _source.SetResult(BytesTransferred);
        else _source.SetException(new SocketException((int)SocketError));
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

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);
}
