using Tessera.Cluster.Ordering;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>In-process <see cref="IChunkChannel"/>: calls the target node's store directly, unless the node is down.</summary>
internal sealed class LocalChunkChannel(IReadOnlyList<ChunkStore> stores, INodeLiveness liveness) : IChunkChannel
{
    public ValueTask ReadAsync(NodeId node, ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken = default) =>
        Store(node).ReadAsync(chunk, offset, destination, cancellationToken);

    public ValueTask WriteAsync(NodeId node, ChunkAddress chunk, int offset, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default) =>
        Store(node).WriteAsync(chunk, offset, source, flags, cancellationToken);

    public ValueTask UnmapAsync(NodeId node, ChunkAddress chunk, int offset, int length, CancellationToken cancellationToken = default) =>
        Store(node).UnmapAsync(chunk, offset, length, cancellationToken);

    public ValueTask UnmapStripesAsync(NodeId node, Guid volume, long firstStripe, long stripeCount, CancellationToken cancellationToken = default) =>
        Store(node).UnmapStripesAsync(volume, firstStripe, stripeCount, cancellationToken);

    public ValueTask FlushAsync(NodeId node, Guid volume, CancellationToken cancellationToken = default) =>
        Store(node).FlushAsync(volume, cancellationToken);

    public ValueTask<(bool Mapped, int Length)> GetStatusAsync(NodeId node, ChunkAddress chunk, int offset, CancellationToken cancellationToken = default) =>
        Store(node).GetStatusAsync(chunk, offset, cancellationToken);

    private ChunkStore Store(NodeId node) =>
        liveness.AcceptsChunkIo(node) ? stores[node.Value] : throw new NodeUnavailableException(node);
}
