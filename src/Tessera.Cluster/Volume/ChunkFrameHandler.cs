using System.Buffers;
using System.Runtime.CompilerServices;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's chunk service: types 110-115 (<see cref="ChunkFrames"/>) executed on its
/// <see cref="ChunkStore"/>. Read data goes straight into the pooled response buffer; write data is
/// taken straight from the received frame (valid until the handler completes). A node that is out
/// answers <see cref="VolumeStatus.NodeUnavailable"/>, as a fenced node would refuse; failures of
/// the store are answered with their status, never by closing the link.
/// </summary>
internal sealed class ChunkFrameHandler(ChunkStore store, INodeLiveness liveness) : IFrameHandler
{
    public static void RegisterOn(InterNodeServer server, ChunkFrameHandler handler)
    {
        for (ushort type = MessageType.ChunkRead; type <= MessageType.ChunkStatus; type++)
        {
            server.Register(type, handler);
        }
    }

    public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        try
        {
            if (!liveness.AcceptsChunkIo(store.Node))
            {
                throw new NodeUnavailableException(store.Node);
            }

            ValueTask<FrameStatus> pending = Dispatch(frame, response, cancellationToken);
            return pending.IsCompletedSuccessfully ? pending : FinishAsync(pending, response);
        }
        catch (Exception ex)
        {
            return ValueTask.FromResult(VolumeErrors.Write(response, ex));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<FrameStatus> FinishAsync(ValueTask<FrameStatus> pending, IBufferWriter<byte> response)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return VolumeErrors.Write(response, ex);
        }
    }

    private ValueTask<FrameStatus> Dispatch(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> payload = frame.Payload.Span;
        switch (frame.MessageType)
        {
            case MessageType.ChunkRead:
            {
                if (!ChunkFrames.TryReadRange(payload, out ChunkAddress chunk, out int offset, out int length))
                {
                    throw Malformed(frame);
                }

                // Bound the response buffer before renting it; the store checks the exact range.
                if (length > store.ChunkSizeOf(chunk.Volume))
                {
                    throw new ArgumentOutOfRangeException(nameof(frame), $"chunk read of {length} bytes is larger than a chunk");
                }

                Memory<byte> destination = response.GetMemory(length)[..length];
                return Ok(store.ReadAsync(chunk, offset, destination, cancellationToken), response, length);
            }

            case MessageType.ChunkWrite:
            {
                if (!ChunkFrames.TryReadWrite(frame.Payload, out ChunkAddress chunk, out int offset, out WriteFlags flags, out ReadOnlyMemory<byte> data))
                {
                    throw Malformed(frame);
                }

                return Ok(store.WriteAsync(chunk, offset, data, flags, cancellationToken), response, 0);
            }

            case MessageType.ChunkUnmap:
            {
                if (!ChunkFrames.TryReadRange(payload, out ChunkAddress chunk, out int offset, out int length))
                {
                    throw Malformed(frame);
                }

                return Ok(store.UnmapAsync(chunk, offset, length, cancellationToken), response, 0);
            }

            case MessageType.ChunkUnmapStripes:
            {
                if (!ChunkFrames.TryReadUnmapStripes(payload, out Guid volume, out long first, out long count))
                {
                    throw Malformed(frame);
                }

                return Ok(store.UnmapStripesAsync(volume, first, count, cancellationToken), response, 0);
            }

            case MessageType.ChunkFlush:
            {
                if (!ChunkFrames.TryReadVolume(payload, out Guid volume))
                {
                    throw Malformed(frame);
                }

                return Ok(store.FlushAsync(volume, cancellationToken), response, 0);
            }

            case MessageType.ChunkStatus:
            {
                if (payload.Length != ChunkFrames.StatusSize || !ChunkFrames.TryReadAddress(payload, out ChunkAddress chunk, out int offset))
                {
                    throw Malformed(frame);
                }

                return StatusAsync(store.GetStatusAsync(chunk, offset, cancellationToken), response);
            }

            default:
                throw new ArgumentException($"message type {frame.MessageType} is not a chunk message");
        }
    }

    /// <summary>Completes with Ok once <paramref name="io"/> has, first marking <paramref name="written"/> response bytes as written.</summary>
    private static ValueTask<FrameStatus> Ok(ValueTask io, IBufferWriter<byte> response, int written)
    {
        if (io.IsCompletedSuccessfully)
        {
            io.GetAwaiter().GetResult();
            response.Advance(written);
            return ValueTask.FromResult(FrameStatus.Ok);
        }

        return OkAsync(io, response, written);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<FrameStatus> OkAsync(ValueTask io, IBufferWriter<byte> response, int written)
    {
        await io.ConfigureAwait(false);
        response.Advance(written);
        return FrameStatus.Ok;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<FrameStatus> StatusAsync(ValueTask<(bool Mapped, int Length)> status, IBufferWriter<byte> response)
    {
        (bool mapped, int length) = await status.ConfigureAwait(false);
        ChunkFrames.WriteStatusResponse(response, mapped, length);
        return FrameStatus.Ok;
    }

    private static ArgumentException Malformed(InboundFrame frame) =>
        new($"malformed chunk message (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
}
