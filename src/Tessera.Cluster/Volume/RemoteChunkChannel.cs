using System.Runtime.CompilerServices;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// <see cref="IChunkChannel"/> over the inter-node protocol: chunk I/O to another node is one
/// request frame on its chunk link (<see cref="ChunkFrames"/>); to this node it is a direct call on
/// the local <see cref="ChunkStore"/>. A node that is out, or that the link cannot reach, is
/// <see cref="NodeUnavailableException"/> (the volume code then works from parity). Read data is
/// copied once from the pooled response into the caller's buffer; nothing is allocated per call.
/// </summary>
internal sealed class RemoteChunkChannel(NodeId self, ChunkStore local, PeerLinkSet links, INodeLiveness liveness) : IChunkChannel
{
    public NodeId Self => self;

    public ValueTask ReadAsync(NodeId node, ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().ReadAsync(chunk, offset, destination, cancellationToken);
        }

        return Check(node) ?? ReadRemoteAsync(node, chunk, offset, destination, cancellationToken);
    }

    public ValueTask WriteAsync(NodeId node, ChunkAddress chunk, int offset, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().WriteAsync(chunk, offset, source, flags, cancellationToken);
        }

        return Check(node) ?? SendAsync(node, MessageType.ChunkWrite, new WriteState(chunk, offset, flags, source),
            static (writer, s) => ChunkFrames.WriteWrite(writer, s.Chunk, s.Offset, s.Flags, s.Data.Span), cancellationToken);
    }

    public ValueTask UnmapAsync(NodeId node, ChunkAddress chunk, int offset, int length, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().UnmapAsync(chunk, offset, length, cancellationToken);
        }

        return Check(node) ?? SendAsync(node, MessageType.ChunkUnmap, (chunk, offset, length),
            static (writer, s) => ChunkFrames.WriteRange(writer, s.chunk, s.offset, s.length), cancellationToken);
    }

    public ValueTask UnmapStripesAsync(NodeId node, Guid volume, long firstStripe, long stripeCount, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().UnmapStripesAsync(volume, firstStripe, stripeCount, cancellationToken);
        }

        return Check(node) ?? SendAsync(node, MessageType.ChunkUnmapStripes, (volume, firstStripe, stripeCount),
            static (writer, s) => ChunkFrames.WriteUnmapStripes(writer, s.volume, s.firstStripe, s.stripeCount), cancellationToken);
    }

    public ValueTask FlushAsync(NodeId node, Guid volume, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().FlushAsync(volume, cancellationToken);
        }

        return Check(node) ?? SendAsync(node, MessageType.ChunkFlush, volume, static (writer, v) => ChunkFrames.WriteVolume(writer, v), cancellationToken);
    }

    public ValueTask<(bool Mapped, int Length)> GetStatusAsync(NodeId node, ChunkAddress chunk, int offset, CancellationToken cancellationToken = default)
    {
        if (node == self)
        {
            return LocalStore().GetStatusAsync(chunk, offset, cancellationToken);
        }

        if (!liveness.AcceptsChunkIo(node))
        {
            return ValueTask.FromException<(bool, int)>(new NodeUnavailableException(node));
        }

        return StatusRemoteAsync(node, chunk, offset, cancellationToken);
    }

    /// <summary>Transport failures mean the node cannot be reached: the volume code treats it as out.</summary>
    internal static Exception Translate(NodeId node, Exception error) => error switch
    {
        PeerUnavailableException or PeerLinkClosedException or RequestTimeoutException => new NodeUnavailableException(node, error),
        _ => error,
    };

    private ChunkStore LocalStore() => liveness.AcceptsChunkIo(self) ? local : throw new NodeUnavailableException(self);

    private ValueTask? Check(NodeId node) =>
        liveness.AcceptsChunkIo(node) ? null : ValueTask.FromException(new NodeUnavailableException(node));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReadRemoteAsync(NodeId node, ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        Response response;
        try
        {
            response = await links.Chunks(node).SendRequestAsync(MessageType.ChunkRead, (chunk, offset, destination.Length),
                static (writer, s) => ChunkFrames.WriteRange(writer, s.chunk, s.offset, s.Length), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (InterNodeException ex)
        {
            throw Translate(node, ex);
        }

        using (response)
        {
            if (!response.IsSuccess)
            {
                throw VolumeErrors.ToException(response.Status, response.Span, node);
            }

            if (response.Span.Length != destination.Length)
            {
                throw new IOException($"node {node} answered a {destination.Length}-byte chunk read with {response.Span.Length} bytes");
            }

            response.Span.CopyTo(destination.Span);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(bool Mapped, int Length)> StatusRemoteAsync(NodeId node, ChunkAddress chunk, int offset, CancellationToken cancellationToken)
    {
        Response response;
        try
        {
            response = await links.Chunks(node).SendRequestAsync(MessageType.ChunkStatus, (chunk, offset),
                static (writer, s) => ChunkFrames.WriteStatusAddress(writer, s.chunk, s.offset), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (InterNodeException ex)
        {
            throw Translate(node, ex);
        }

        using (response)
        {
            if (!response.IsSuccess)
            {
                throw VolumeErrors.ToException(response.Status, response.Span, node);
            }

            return ChunkFrames.TryReadStatusResponse(response.Span, out bool mapped, out int length)
                ? (mapped, length)
                : throw new IOException($"node {node} sent a malformed chunk status ({response.Span.Length} bytes)");
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAsync<TState>(NodeId node, ushort type, TState state, PayloadWriter<TState> write, CancellationToken cancellationToken)
    {
        Response response;
        try
        {
            response = await links.Chunks(node).SendRequestAsync(type, state, write, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (InterNodeException ex)
        {
            throw Translate(node, ex);
        }

        using (response)
        {
            if (!response.IsSuccess)
            {
                throw VolumeErrors.ToException(response.Status, response.Span, node);
            }
        }
    }

    private readonly record struct WriteState(ChunkAddress Chunk, int Offset, WriteFlags Flags, ReadOnlyMemory<byte> Data);
}
