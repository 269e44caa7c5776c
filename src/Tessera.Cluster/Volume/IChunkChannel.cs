using Tessera.Cluster.Ordering;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Chunk I/O against any node's <see cref="ChunkStore"/>: owners write data and parity through it,
/// portals read data columns through it. In process: direct calls
/// (<see cref="LocalChunkChannel"/>); over TCP later: one request frame each. A call to a node that
/// is out throws <see cref="NodeUnavailableException"/>.
/// </summary>
internal interface IChunkChannel
{
    ValueTask ReadAsync(NodeId node, ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken = default);

    ValueTask WriteAsync(NodeId node, ChunkAddress chunk, int offset, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default);

    ValueTask UnmapAsync(NodeId node, ChunkAddress chunk, int offset, int length, CancellationToken cancellationToken = default);

    ValueTask UnmapStripesAsync(NodeId node, Guid volume, long firstStripe, long stripeCount, CancellationToken cancellationToken = default);

    ValueTask FlushAsync(NodeId node, Guid volume, CancellationToken cancellationToken = default);

    ValueTask<(bool Mapped, int Length)> GetStatusAsync(NodeId node, ChunkAddress chunk, int offset, CancellationToken cancellationToken = default);
}
