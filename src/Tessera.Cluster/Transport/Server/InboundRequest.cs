using System.Buffers;
using System.Runtime.CompilerServices;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Server;

/// <summary>
/// One received request from dispatch to response, pooled per link: holds the rented copy of
/// the payload (the pipe's memory is released as soon as the frame is dispatched), runs the
/// handler as a thread-pool work item and collects its response payload. Completion is hooked
/// with a cached delegate, so an asynchronous handler costs no allocation here either.
/// </summary>
internal sealed class InboundRequest : IThreadPoolWorkItem
{
    private readonly InboundLink _link;
    private readonly Action _onHandlerCompleted;
    private IFrameHandler? _handler;
    private ConfiguredValueTaskAwaitable<FrameStatus>.ConfiguredValueTaskAwaiter _awaiter;
    private byte[]? _payload;
    private int _length;

    public InboundRequest(InboundLink link)
    {
        _link = link;
        _onHandlerCompleted = OnHandlerCompleted;
    }

    public PooledBufferWriter Response { get; } = new();

    public ushort MessageType { get; private set; }

    public ulong RequestId { get; private set; }

    public bool IsOneWay { get; private set; }

    public void Prepare(IFrameHandler handler, in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        _handler = handler;
        MessageType = header.MessageType;
        RequestId = header.RequestId;
        IsOneWay = header.IsOneWay;
        _length = (int)payload.Length;
        if (_length > 0)
        {
            _payload = ArrayPool<byte>.Shared.Rent(_length);
            payload.CopyTo(_payload);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        ValueTask<FrameStatus> handling;
        try
        {
            var frame = new InboundFrame(MessageType, RequestId, IsOneWay,
                _payload is null ? ReadOnlyMemory<byte>.Empty : _payload.AsMemory(0, _length), _link.RemoteNodeId);
            handling = _handler!.HandleAsync(frame, Response, _link.ClosedToken);
        }
        catch (Exception ex)
        {
            _link.Complete(this, FrameStatus.HandlerFailed, ex);
            return;
        }

        _awaiter = handling.ConfigureAwait(false).GetAwaiter();
        if (_awaiter.IsCompleted)
        {
            OnHandlerCompleted();
        }
        else
        {
            _awaiter.UnsafeOnCompleted(_onHandlerCompleted);
        }
    }

    /// <summary>Returns the payload buffer and forgets the request, ready for the next one.</summary>
    public void Release()
    {
        if (_payload is not null)
        {
            ArrayPool<byte>.Shared.Return(_payload);
            _payload = null;
        }

        _handler = null;
        Response.Reset();
    }

    private void OnHandlerCompleted()
    {
        var awaiter = _awaiter;
        _awaiter = default;
        FrameStatus status;
        try
        {
            status = awaiter.GetResult();
        }
        catch (Exception ex)
        {
            _link.Complete(this, FrameStatus.HandlerFailed, ex);
            return;
        }

        _link.Complete(this, status, null);
    }
}
