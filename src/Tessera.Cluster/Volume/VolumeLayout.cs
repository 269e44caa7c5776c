using Tessera.Cluster.Ordering;
using Tessera.Parity;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Shape of one distributed volume (ARCHITECTURE decision 3; docs/distributed-volume.md): the
/// byte space is cut into stripes of <see cref="DataColumns"/> chunks of <see cref="ChunkSize"/>
/// bytes plus a row-parity and a diagonal-parity chunk (RDP, Tessera.Parity). Stripe s, codec
/// column j lives on node (s + j) mod N, so the K + 2 columns of a stripe sit on distinct nodes
/// and every node takes every role equally often. Groups of <see cref="StripesPerSubUnit"/>
/// consecutive stripes form a sub-unit, the unit of ownership.
/// Immutable; shared by every node's view of the volume.
/// </summary>
internal sealed class VolumeLayout
{
    public const int DefaultDataColumns = 4;
    public const int DefaultChunkSize = 64 * 1024;
    public const int DefaultStripesPerSubUnit = 64;

    /// <summary>Chunk files are addressed in these units (ThinVolume logical blocks).</summary>
    public const int ChunkFileBlockSize = 512;

    public VolumeLayout(Guid volumeId, long sizeBytes, int blockSize, int nodeCount,
        int dataColumns = DefaultDataColumns, int chunkSize = DefaultChunkSize, int stripesPerSubUnit = DefaultStripesPerSubUnit)
    {
        if (blockSize is not (512 or 4096))
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "Expected a logical block size of 512 or 4096 bytes.");
        }

        if (sizeBytes <= 0 || sizeBytes % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeBytes), sizeBytes, $"Expected a positive multiple of the {blockSize}-byte block size.");
        }

        if (nodeCount < dataColumns + 2)
        {
            throw new ArgumentOutOfRangeException(nameof(nodeCount), nodeCount, $"A stripe of {dataColumns} data columns plus two parity columns needs at least {dataColumns + 2} nodes.");
        }

        if (chunkSize <= 0 || chunkSize % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, $"Expected a chunk size that is a multiple of the {blockSize}-byte block size.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(stripesPerSubUnit, 1);
        Parity = ParityGeometry.ForColumnSize(dataColumns, chunkSize);

        // A block-aligned data range must map to block-aligned parity ranges: partial-update patches
        // sit at the same in-block offsets of RDP blocks, so RDP blocks must be whole logical blocks.
        if (Parity.BlockSize % blockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize,
                $"Chunk size {chunkSize} gives RDP blocks of {Parity.BlockSize} bytes, not a multiple of the {blockSize}-byte block size; pick a multiple of {(Parity.Prime - 1) * blockSize}.");
        }

        VolumeId = volumeId;
        SizeBytes = sizeBytes;
        BlockSize = blockSize;
        NodeCount = nodeCount;
        DataColumns = dataColumns;
        ChunkSize = chunkSize;
        StripesPerSubUnit = stripesPerSubUnit;
        StripeDataSize = (long)dataColumns * chunkSize;
        StripeCount = (sizeBytes + StripeDataSize - 1) / StripeDataSize;
        SubUnitCount = (StripeCount + stripesPerSubUnit - 1) / stripesPerSubUnit;
    }

    public Guid VolumeId { get; }

    public long SizeBytes { get; }

    /// <summary>Logical block size presented to hosts (512 or 4096).</summary>
    public int BlockSize { get; }

    public long BlockCount => SizeBytes / BlockSize;

    /// <summary>N: nodes the volume is placed on (ids 0..N−1).</summary>
    public int NodeCount { get; }

    /// <summary>K: data columns per stripe.</summary>
    public int DataColumns { get; }

    /// <summary>K + 2.</summary>
    public int ColumnCount => DataColumns + 2;

    public int RowParityColumn => DataColumns;

    public int DiagonalParityColumn => DataColumns + 1;

    /// <summary>C: bytes of one column of one stripe (the stripe unit).</summary>
    public int ChunkSize { get; }

    public int StripesPerSubUnit { get; }

    /// <summary>K × C: user bytes per stripe.</summary>
    public long StripeDataSize { get; }

    /// <summary>Stripes covering the volume; the last one may be partly beyond its end (reads as zeros, never addressed).</summary>
    public long StripeCount { get; }

    public long SubUnitCount { get; }

    /// <summary>Bytes of each node's chunk file: stripe s's chunk sits at s × C (sparse; stripes the node does not hold are holes).</summary>
    public long ChunkFileSize => StripeCount * ChunkSize;

    public ParityGeometry Parity { get; }

    /// <summary>Node holding codec column <paramref name="column"/> (data 0..K−1, row parity K, diagonal parity K+1) of stripe <paramref name="stripe"/>.</summary>
    public NodeId NodeOf(long stripe, int column) => new((int)((stripe + column) % NodeCount));

    /// <summary>The column node <paramref name="node"/> holds in <paramref name="stripe"/>, or −1 when it holds none.</summary>
    public int ColumnOf(long stripe, NodeId node)
    {
        int column = (int)(((node.Value - (stripe % NodeCount)) + NodeCount) % NodeCount);
        return column < ColumnCount ? column : -1;
    }

    public long StripeOf(long byteOffset) => byteOffset / StripeDataSize;

    public long SubUnitOf(long stripe) => stripe / StripesPerSubUnit;

    public long SubUnitOfByte(long byteOffset) => SubUnitOf(StripeOf(byteOffset));

    /// <summary>First volume byte of <paramref name="subUnit"/>.</summary>
    public long SubUnitStart(long subUnit) => subUnit * StripesPerSubUnit * StripeDataSize;

    /// <summary>Byte just past <paramref name="subUnit"/>, clamped to the volume's end.</summary>
    public long SubUnitEnd(long subUnit) => Math.Min(SubUnitStart(subUnit + 1), SizeBytes);

    /// <summary>Offset of <paramref name="stripe"/>'s chunk in any node's chunk file.</summary>
    public long ChunkFileOffset(long stripe) => stripe * ChunkSize;
}
