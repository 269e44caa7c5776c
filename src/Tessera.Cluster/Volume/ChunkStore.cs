using System.Collections.Concurrent;
using Tessera.Cluster.Ordering;
using Tessera.Scsi;
using Tessera.Storage;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's chunks: for every volume one sparse <see cref="ThinVolume"/> (the node-local store,
/// docs/storage.md) in which stripe s's chunk sits at byte s × C. A node holds one column of a
/// stripe at most, so the column needs no room in the key; stripes the node does not hold stay
/// holes and cost nothing. Unwritten chunks read as zeros; unmap punches holes; flush is the
/// volume's group commit (fdatasync). No per-4K checksums yet (docs/distributed-volume.md).
/// </summary>
internal sealed class ChunkStore : IAsyncDisposable
{
    private readonly VolumeCatalog _catalog;
    private readonly ConcurrentDictionary<Guid, (VolumeLayout Layout, ThinVolume File)> _volumes = new();

    public ChunkStore(NodeId node, string directory, Action<string>? log = null)
    {
        Node = node;
        Directory.CreateDirectory(directory);
        _catalog = new VolumeCatalog(directory, log);
    }

    public NodeId Node { get; }

    public static string ChunkFileName(Guid volume) => "chunks-" + volume.ToString("N");

    /// <summary>Opens (creating on first use) the chunk file of <paramref name="layout"/>'s volume.</summary>
    public void OpenVolume(VolumeLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        lock (_volumes)
        {
            if (_volumes.TryGetValue(layout.VolumeId, out (VolumeLayout Layout, ThinVolume File) open))
            {
                if (open.Layout.ChunkFileSize != layout.ChunkFileSize || open.Layout.ChunkSize != layout.ChunkSize)
                {
                    throw new InvalidOperationException($"node {Node}: volume {layout.VolumeId} is open with another layout");
                }

                return;
            }

            string name = ChunkFileName(layout.VolumeId);
            if (!_catalog.TryGet(name, out VolumeInfo? info))
            {
                info = _catalog.Create(name, layout.ChunkFileSize, VolumeLayout.ChunkFileBlockSize);
            }
            else if (info.SizeBytes != layout.ChunkFileSize)
            {
                throw new InvalidOperationException($"node {Node}: chunk file of volume {layout.VolumeId} has {info.SizeBytes} bytes, layout expects {layout.ChunkFileSize}");
            }

            _volumes[layout.VolumeId] = (layout, _catalog.Open(name));
        }
    }

    public ValueTask ReadAsync(ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ThinVolume file = Locate(chunk, offset, destination.Length, out long lba);
        return file.ReadAsync(lba, destination, cancellationToken);
    }

    public ValueTask WriteAsync(ChunkAddress chunk, int offset, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        ThinVolume file = Locate(chunk, offset, source.Length, out long lba);
        return file.WriteAsync(lba, source, flags, cancellationToken);
    }

    /// <summary>Punches bytes [offset, offset + length) of one chunk: they read as zeros afterwards.</summary>
    public ValueTask UnmapAsync(ChunkAddress chunk, int offset, int length, CancellationToken cancellationToken = default)
    {
        ThinVolume file = Locate(chunk, offset, length, out long lba);
        return file.UnmapAsync(lba, length / VolumeLayout.ChunkFileBlockSize, cancellationToken);
    }

    /// <summary>
    /// Punches whole stripes [<paramref name="firstStripe"/>, +<paramref name="stripeCount"/>) in one
    /// call: stripes this node does not hold are holes already, so one range covers every column it has.
    /// </summary>
    public ValueTask UnmapStripesAsync(Guid volume, long firstStripe, long stripeCount, CancellationToken cancellationToken = default)
    {
        (VolumeLayout layout, ThinVolume file) = Get(volume);
        if (firstStripe < 0 || stripeCount < 0 || firstStripe + stripeCount > layout.StripeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(stripeCount), $"stripes {firstStripe}+{stripeCount} outside 0..{layout.StripeCount}");
        }

        long blocksPerChunk = layout.ChunkSize / VolumeLayout.ChunkFileBlockSize;
        return file.UnmapAsync(firstStripe * blocksPerChunk, stripeCount * blocksPerChunk, cancellationToken);
    }

    public ValueTask FlushAsync(Guid volume, CancellationToken cancellationToken = default) =>
        Get(volume).File.FlushAsync(cancellationToken);

    /// <summary>
    /// Provisioning of the chunk from <paramref name="offset"/>: whether it is mapped and how many
    /// bytes of the chunk from there share that status.
    /// </summary>
    public async ValueTask<(bool Mapped, int Length)> GetStatusAsync(ChunkAddress chunk, int offset, CancellationToken cancellationToken = default)
    {
        (VolumeLayout layout, ThinVolume file) = Get(chunk.Volume);
        Locate(chunk, offset, VolumeLayout.ChunkFileBlockSize, out long lba);
        LbaStatusRun run = await file.GetLbaStatusAsync(lba, cancellationToken).ConfigureAwait(false);
        long end = Math.Min((run.Lba + run.BlockCount) * VolumeLayout.ChunkFileBlockSize, layout.ChunkFileOffset(chunk.Stripe) + layout.ChunkSize);
        return (run.Mapped, (int)(end - (lba * VolumeLayout.ChunkFileBlockSize)));
    }

    /// <summary>The chunk size of <paramref name="volume"/> here (the bound of any one chunk I/O).</summary>
    public int ChunkSizeOf(Guid volume) => Get(volume).Layout.ChunkSize;

    /// <summary>Bytes allocated on disk for the volume's chunks on this node.</summary>
    public long AllocatedBytes(Guid volume) => Get(volume).File.AllocatedBytes;

    public async ValueTask DisposeAsync()
    {
        foreach ((VolumeLayout _, ThinVolume file) in _volumes.Values)
        {
            await file.DisposeAsync().ConfigureAwait(false);
        }

        _volumes.Clear();
        _catalog.Dispose();
    }

    private (VolumeLayout Layout, ThinVolume File) Get(Guid volume) =>
        _volumes.TryGetValue(volume, out (VolumeLayout, ThinVolume) entry)
            ? entry
            : throw new InvalidOperationException($"node {Node}: volume {volume} has no chunk file here");

    private ThinVolume Locate(ChunkAddress chunk, int offset, int length, out long lba)
    {
        (VolumeLayout layout, ThinVolume file) = Get(chunk.Volume);

        // A misrouted chunk would silently overwrite another stripe's column: refuse it.
        if ((ulong)chunk.Stripe >= (ulong)layout.StripeCount || layout.ColumnOf(chunk.Stripe, Node) != chunk.Column)
        {
            throw new InvalidOperationException($"node {Node} does not hold chunk {chunk}");
        }

        if (offset < 0 || length < 0 || offset > layout.ChunkSize - length
            || offset % VolumeLayout.ChunkFileBlockSize != 0 || length % VolumeLayout.ChunkFileBlockSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"chunk range {offset}+{length} is not whole {VolumeLayout.ChunkFileBlockSize}-byte units inside a {layout.ChunkSize}-byte chunk");
        }

        lba = (layout.ChunkFileOffset(chunk.Stripe) + offset) / VolumeLayout.ChunkFileBlockSize;
        return file;
    }
}
