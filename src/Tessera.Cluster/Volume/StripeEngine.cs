using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Parity;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// The owner's I/O on one stripe, always called with the stripe locked (<see cref="StripeLockTable"/>).
/// Ranges are in stripe data space: byte b of the stripe's K × C user bytes is column b / C at
/// offset b mod C. Three write paths (docs/distributed-volume.md):
/// <list type="bullet">
/// <item>full stripe: encode both parities from the caller's buffer (it already is the codec's data layout) and write K + 2 chunks;</item>
/// <item>partial: read the old data range, turn old ⊕ new into parity patches (<see cref="ParityCodec.ComputeUpdate"/>),
/// read-modify-write only the patched parity ranges, write the new data;</item>
/// <item>degraded (a column's node is out): read the surviving columns, rebuild the missing ones, apply the change,
/// re-encode, write the surviving changed columns — parity then covers the missing columns' contents.</item>
/// </list>
/// Buffers come from <see cref="ArrayPool{T}.Shared"/>.
/// </summary>
internal sealed class StripeEngine
{
    private readonly VolumeLayout _layout;
    private readonly ParityCodec _codec;
    private readonly IChunkChannel _chunks;
    private readonly INodeLiveness _liveness;
    private readonly byte[] _zeros;

    public StripeEngine(VolumeLayout layout, IChunkChannel chunks, INodeLiveness liveness)
    {
        _layout = layout;
        _codec = new ParityCodec(layout.Parity);
        _chunks = chunks;
        _liveness = liveness;
        _zeros = new byte[layout.ChunkSize];
    }

    public VolumeLayout Layout => _layout;

    public ParityCodec Codec => _codec;

    public IChunkChannel Chunks => _chunks;

    public INodeLiveness Liveness => _liveness;

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="start"/> of the stripe's data, or — when
    /// <paramref name="unmap"/> — deallocates <paramref name="length"/> bytes there (zeros, parity kept consistent).
    /// </summary>
    public ValueTask WriteAsync(long stripe, int start, int length, ReadOnlyMemory<byte> source, bool unmap, WriteFlags flags, CancellationToken cancellationToken)
    {
        (int down, int first, int second) = DownColumns(stripe);
        if (down > 2)
        {
            throw new IOException($"stripe {stripe} of volume {_layout.VolumeId} has {down} columns on unavailable nodes; at most 2 can be rebuilt");
        }

        if (down > 0)
        {
            return MarkedDegradedWriteAsync(stripe, start, length, source, unmap, first, second, flags, cancellationToken);
        }

        if (start == 0 && length == _layout.StripeDataSize)
        {
            return unmap ? UnmapFullAsync(stripe, cancellationToken) : FullWriteAsync(stripe, source, flags, cancellationToken);
        }

        return PartialWriteAsync(stripe, start, length, source, unmap, flags, cancellationToken);
    }

    /// <summary>
    /// Reads [start, start + destination.Length) of the stripe's data, rebuilding columns on
    /// unavailable nodes. A node that liveness still counts as up but that cannot be reached (its
    /// process died, membership has not noticed yet) is treated as down for this read, so reads
    /// keep working from parity in that window too.
    /// </summary>
    public async ValueTask ReadAsync(long stripe, int start, Memory<byte> destination, CancellationToken cancellationToken)
    {
        (int down, int first, int second) = DownColumns(stripe);
        while (true)
        {
            try
            {
                await ReadAsync(stripe, start, destination, down, first, second, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NodeUnavailableException unreachable) when (down < 2 && _layout.ColumnOf(stripe, unreachable.Node) is int column
                && column >= 0 && column != first && column != second)
            {
                down++;
                (first, second) = first < 0 ? (column, -1) : (Math.Min(first, column), Math.Max(first, column));
            }
        }
    }

    private async ValueTask ReadAsync(long stripe, int start, Memory<byte> destination, int down, int first, int second, CancellationToken cancellationToken)
    {
        if (down == 0 || !TouchesColumn(start, destination.Length, first, second))
        {
            await ReadDirectAsync(stripe, start, destination, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (down > 2)
        {
            throw new IOException($"stripe {stripe} of volume {_layout.VolumeId} has {down} columns on unavailable nodes; at most 2 can be rebuilt");
        }

        int columnSize = _layout.ChunkSize;
        byte[] stripeBuffer = ArrayPool<byte>.Shared.Rent(_layout.Parity.StripeSize);
        try
        {
            Memory<byte> all = stripeBuffer.AsMemory(0, _layout.Parity.StripeSize);
            await ReadSurvivorsAsync(stripe, all, first, second, cancellationToken).ConfigureAwait(false);
            int position = start, end = start + destination.Length;
            while (position < end)
            {
                int column = position / columnSize, offset = position % columnSize;
                int length = Math.Min(columnSize - offset, end - position);
                if (column == first || column == second)
                {
                    _codec.ReconstructRange(all.Span, first, second, column, offset, length);
                }

                all.Span.Slice((column * columnSize) + offset, length).CopyTo(destination.Span.Slice(position - start, length));
                position += length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripeBuffer);
        }
    }

    /// <summary>
    /// Reads all K + 2 chunks and checks every row and diagonal (parity scrub). Returns null when a
    /// column's node is unavailable (nothing to check against).
    /// </summary>
    public async ValueTask<bool?> IsConsistentAsync(long stripe, CancellationToken cancellationToken)
    {
        if (DownColumns(stripe).Down > 0)
        {
            return null;
        }

        byte[] stripeBuffer = ArrayPool<byte>.Shared.Rent(_layout.Parity.StripeSize);
        try
        {
            Memory<byte> all = stripeBuffer.AsMemory(0, _layout.Parity.StripeSize);
            await ReadSurvivorsAsync(stripe, all, -1, -1, cancellationToken).ConfigureAwait(false);
            return _codec.IsConsistent(all.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripeBuffer);
        }
    }

    /// <summary>
    /// Rebuild: recomputes <paramref name="column"/> of <paramref name="stripe"/> (not available yet)
    /// from the other columns and writes it to its node, which must accept chunk I/O. An all-zero
    /// column is punched instead of written, so the rebuilt node stays thin.
    /// </summary>
    public async ValueTask RebuildColumnAsync(long stripe, int column, CancellationToken cancellationToken)
    {
        (int down, int first, int second) = DownColumns(stripe);
        if (first != column && second != column)
        {
            return;
        }

        if (down > 2)
        {
            throw new IOException($"stripe {stripe} of volume {_layout.VolumeId} has {down} columns unavailable; cannot rebuild column {column}");
        }

        int columnSize = _layout.ChunkSize;
        byte[] stripeBuffer = ArrayPool<byte>.Shared.Rent(_layout.Parity.StripeSize);
        try
        {
            Memory<byte> all = stripeBuffer.AsMemory(0, _layout.Parity.StripeSize);
            await ReadSurvivorsAsync(stripe, all, first, second, cancellationToken).ConfigureAwait(false);
            if (second < 0)
            {
                _codec.Reconstruct(all.Span, first);
            }
            else
            {
                _codec.Reconstruct(all.Span, first, second);
            }

            Memory<byte> rebuilt = all.Slice(column * columnSize, columnSize);
            NodeId node = _layout.NodeOf(stripe, column);
            if (rebuilt.Span.IndexOfAnyExcept((byte)0) < 0)
            {
                await _chunks.UnmapAsync(node, Chunk(stripe, column), 0, columnSize, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _chunks.WriteAsync(node, Chunk(stripe, column), 0, rebuilt, WriteFlags.None, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripeBuffer);
        }
    }

    private async ValueTask ReadDirectAsync(long stripe, int start, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int columnSize = _layout.ChunkSize;
        int position = start, end = start + destination.Length;
        var reads = default(ChunkFanOut);
        while (position < end)
        {
            int column = position / columnSize, offset = position % columnSize;
            int length = Math.Min(columnSize - offset, end - position);
            reads.Add(ReadChunk(stripe, column, offset, destination.Slice(position - start, length), cancellationToken));
            position += length;
        }

        await reads.WhenAllAsync().ConfigureAwait(false);
    }

    private async ValueTask FullWriteAsync(long stripe, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken)
    {
        int columnSize = _layout.ChunkSize;
        byte[] parity = ArrayPool<byte>.Shared.Rent(2 * columnSize);
        try
        {
            Memory<byte> row = parity.AsMemory(0, columnSize), diagonal = parity.AsMemory(columnSize, columnSize);
            _codec.Encode(source.Span, row.Span, diagonal.Span);
            var writes = default(ChunkFanOut);
            for (int column = 0; column < _layout.DataColumns; column++)
            {
                writes.Add(WriteChunk(stripe, column, 0, source.Slice(column * columnSize, columnSize), flags, cancellationToken));
            }

            writes.Add(WriteChunk(stripe, _layout.RowParityColumn, 0, row, flags, cancellationToken));
            writes.Add(WriteChunk(stripe, _layout.DiagonalParityColumn, 0, diagonal, flags, cancellationToken));
            await writes.WhenAllAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(parity);
        }
    }

    private async ValueTask UnmapFullAsync(long stripe, CancellationToken cancellationToken)
    {
        // All-zero data has all-zero parity: punching every column keeps the stripe consistent.
        var punches = default(ChunkFanOut);
        for (int column = 0; column < _layout.ColumnCount; column++)
        {
            punches.Add(UnmapChunk(stripe, column, 0, _layout.ChunkSize, cancellationToken));
        }

        await punches.WhenAllAsync().ConfigureAwait(false);
    }

    private async ValueTask PartialWriteAsync(long stripe, int start, int length, ReadOnlyMemory<byte> source, bool unmap, WriteFlags flags, CancellationToken cancellationToken)
    {
        ParityGeometry g = _layout.Parity;
        int columnSize = _layout.ChunkSize;
        int firstColumn = start / columnSize, lastColumn = (start + length - 1) / columnSize;
        int touched = lastColumn - firstColumn + 1;

        // Old data and δ = old ⊕ new sit at the same place as the range in stripe data space; patches side by side.
        int patchCapacity = 0;
        for (int column = firstColumn; column <= lastColumn; column++)
        {
            (int offset, int pieceLength) = Piece(start, length, column);
            patchCapacity += g.MaxUpdatePatches(offset, pieceLength);
        }

        byte[] deltas = ArrayPool<byte>.Shared.Rent(length);
        byte[] old = ArrayPool<byte>.Shared.Rent(length);
        ParityPatch[] patches = ArrayPool<ParityPatch>.Shared.Rent(patchCapacity);
        int[] patchCounts = ArrayPool<int>.Shared.Rent(touched);
        byte[] parity = ArrayPool<byte>.Shared.Rent(2 * columnSize);
        (int Start, int End)[] intervals = ArrayPool<(int, int)>.Shared.Rent(2 * patchCapacity);
        int[] intervalCounts = ArrayPool<int>.Shared.Rent(2);
        try
        {
            // 1. Which parity ranges the write patches depends only on where it falls (RDP geometry),
            // not on the bytes: describe them first (old = new here; δ comes in step 3), so that old
            // data and parity ranges are read in one round — two round trips per small write, not three.
            int patchIndex = 0;
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                (int offset, int pieceLength) = Piece(start, length, column);
                int deltaAt = (column * columnSize) + offset - start;
                ReadOnlySpan<byte> newPiece = unmap ? _zeros.AsSpan(0, pieceLength) : source.Span.Slice(deltaAt, pieceLength);
                int room = g.MaxUpdatePatches(offset, pieceLength);
                patchCounts[column - firstColumn] = _codec.ComputeUpdate(column, offset, newPiece, newPiece, deltas.AsSpan(deltaAt, pieceLength), patches.AsSpan(patchIndex, room));
                patchIndex += room;
            }

            // 2. Old data of every touched column and the patched ranges of both parity columns, all at once.
            var reads = default(ChunkFanOut);
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                (int offset, int pieceLength) = Piece(start, length, column);
                reads.Add(ReadChunk(stripe, column, offset, old.AsMemory((column * columnSize) + offset - start, pieceLength), cancellationToken));
            }

            for (int p = 0; p < 2; p++)
            {
                int parityColumn = _layout.RowParityColumn + p;
                Memory<byte> buffer = parity.AsMemory(p * columnSize, columnSize);
                int count = MergeIntervals(patches, patchCounts, start, length, parityColumn, intervals.AsSpan(p * patchCapacity, patchCapacity));
                intervalCounts[p] = count;
                for (int i = 0; i < count; i++)
                {
                    (int from, int to) = intervals[(p * patchCapacity) + i];
                    reads.Add(ReadChunk(stripe, parityColumn, from, buffer.Slice(from, to - from), cancellationToken));
                }
            }

            await reads.WhenAllAsync().ConfigureAwait(false);
            patchIndex = 0;
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                (int offset, int pieceLength) = Piece(start, length, column);
                int deltaAt = (column * columnSize) + offset - start;
                ReadOnlySpan<byte> newPiece = unmap ? _zeros.AsSpan(0, pieceLength) : source.Span.Slice(deltaAt, pieceLength);
                int room = g.MaxUpdatePatches(offset, pieceLength);
                _codec.ComputeUpdate(column, offset, old.AsSpan(deltaAt, pieceLength), newPiece, deltas.AsSpan(deltaAt, pieceLength), patches.AsSpan(patchIndex, room));
                patchIndex += room;
            }

            // 3. Fold every column's δ in; write parity ranges and new data together. All of them are
            // awaited, so a single failed node leaves every other column current (docs: degraded retry).
            var writes = default(ChunkFanOut);
            for (int p = 0; p < 2; p++)
            {
                int parityColumn = _layout.RowParityColumn + p;
                Memory<byte> buffer = parity.AsMemory(p * columnSize, columnSize);
                ApplyPatches(patches, patchCounts, deltas, start, length, parityColumn, buffer.Span);
                for (int i = 0; i < intervalCounts[p]; i++)
                {
                    (int from, int to) = intervals[(p * patchCapacity) + i];
                    writes.Add(WriteChunk(stripe, parityColumn, from, buffer.Slice(from, to - from), flags, cancellationToken));
                }
            }

            for (int column = firstColumn; column <= lastColumn; column++)
            {
                (int offset, int pieceLength) = Piece(start, length, column);
                writes.Add(unmap
                    ? UnmapChunk(stripe, column, offset, pieceLength, cancellationToken)
                    : WriteChunk(stripe, column, offset, source.Slice((column * columnSize) + offset - start, pieceLength), flags, cancellationToken));
            }

            await writes.WhenAllAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(intervalCounts);
            ArrayPool<(int, int)>.Shared.Return(intervals);
            ArrayPool<byte>.Shared.Return(parity);
            ArrayPool<int>.Shared.Return(patchCounts);
            ArrayPool<ParityPatch>.Shared.Return(patches);
            ArrayPool<byte>.Shared.Return(old);
            ArrayPool<byte>.Shared.Return(deltas);
        }
    }

    /// <summary>
    /// A write that leaves columns behind makes them stale: liveness records that durably first, so a
    /// restart of every node still knows not to trust those columns.
    /// </summary>
    private async ValueTask MarkedDegradedWriteAsync(long stripe, int start, int length, ReadOnlyMemory<byte> source, bool unmap, int first, int second, WriteFlags flags, CancellationToken cancellationToken)
    {
        await _liveness.BeforeDegradedWriteAsync(_layout.NodeOf(stripe, first), cancellationToken).ConfigureAwait(false);
        if (second >= 0)
        {
            await _liveness.BeforeDegradedWriteAsync(_layout.NodeOf(stripe, second), cancellationToken).ConfigureAwait(false);
        }

        await DegradedWriteAsync(stripe, start, length, source, unmap, first, second, flags, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask DegradedWriteAsync(long stripe, int start, int length, ReadOnlyMemory<byte> source, bool unmap, int first, int second, WriteFlags flags, CancellationToken cancellationToken)
    {
        ParityGeometry g = _layout.Parity;
        int columnSize = _layout.ChunkSize;
        byte[] stripeBuffer = ArrayPool<byte>.Shared.Rent(g.StripeSize);
        try
        {
            Memory<byte> all = stripeBuffer.AsMemory(0, g.StripeSize);
            await ReadSurvivorsAsync(stripe, all, first, second, cancellationToken).ConfigureAwait(false);
            if (second < 0)
            {
                _codec.Reconstruct(all.Span, first);
            }
            else
            {
                _codec.Reconstruct(all.Span, first, second);
            }

            // Data space is the first K columns of the stripe buffer, in volume byte order.
            Span<byte> target = all.Span.Slice(start, length);
            if (unmap)
            {
                target.Clear();
            }
            else
            {
                source.Span.CopyTo(target);
            }

            _codec.Encode(all.Span);
            var writes = default(ChunkFanOut);
            int firstColumn = start / columnSize, lastColumn = (start + length - 1) / columnSize;
            for (int column = firstColumn; column <= lastColumn; column++)
            {
                if (column == first || column == second)
                {
                    continue;
                }

                (int offset, int pieceLength) = Piece(start, length, column);
                writes.Add(unmap
                    ? UnmapChunk(stripe, column, offset, pieceLength, cancellationToken)
                    : WriteChunk(stripe, column, offset, all.Slice((column * columnSize) + offset, pieceLength), flags, cancellationToken));
            }

            for (int parityColumn = _layout.RowParityColumn; parityColumn <= _layout.DiagonalParityColumn; parityColumn++)
            {
                if (parityColumn != first && parityColumn != second)
                {
                    writes.Add(WriteChunk(stripe, parityColumn, 0, all.Slice(parityColumn * columnSize, columnSize), flags, cancellationToken));
                }
            }

            await writes.WhenAllAsync().ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stripeBuffer);
        }
    }

    /// <summary>Fills every column of <paramref name="stripe"/> except the erased ones from their nodes (full chunks).</summary>
    private async ValueTask ReadSurvivorsAsync(long stripe, Memory<byte> all, int first, int second, CancellationToken cancellationToken)
    {
        int columnSize = _layout.ChunkSize;
        var reads = default(ChunkFanOut);
        for (int column = 0; column < _layout.ColumnCount; column++)
        {
            if (column != first && column != second)
            {
                reads.Add(ReadChunk(stripe, column, 0, all.Slice(column * columnSize, columnSize), cancellationToken));
            }
        }

        await reads.WhenAllAsync().ConfigureAwait(false);
    }

    // Starting a chunk I/O never throws: a synchronous failure becomes a faulted task, so a fan-out
    // still awaits the I/Os it already started before the caller returns their pooled buffers.
    private ValueTask ReadChunk(long stripe, int column, int offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return _chunks.ReadAsync(_layout.NodeOf(stripe, column), Chunk(stripe, column), offset, destination, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private ValueTask WriteChunk(long stripe, int column, int offset, ReadOnlyMemory<byte> data, WriteFlags flags, CancellationToken cancellationToken)
    {
        try
        {
            return _chunks.WriteAsync(_layout.NodeOf(stripe, column), Chunk(stripe, column), offset, data, flags, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private ValueTask UnmapChunk(long stripe, int column, int offset, int length, CancellationToken cancellationToken)
    {
        try
        {
            return _chunks.UnmapAsync(_layout.NodeOf(stripe, column), Chunk(stripe, column), offset, length, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private ChunkAddress Chunk(long stripe, int column) => new(_layout.VolumeId, stripe, column);

    /// <summary>Columns of <paramref name="stripe"/> whose nodes are out: how many, and the first two.</summary>
    private (int Down, int First, int Second) DownColumns(long stripe)
    {
        int down = 0, first = -1, second = -1;
        for (int column = 0; column < _layout.ColumnCount; column++)
        {
            if (!_liveness.IsColumnAvailable(_layout.VolumeId, _layout.NodeOf(stripe, column), stripe))
            {
                down++;
                if (first < 0)
                {
                    first = column;
                }
                else if (second < 0)
                {
                    second = column;
                }
            }
        }

        return (down, first, second);
    }

    private bool TouchesColumn(int start, int length, int first, int second)
    {
        int firstColumn = start / _layout.ChunkSize, lastColumn = (start + length - 1) / _layout.ChunkSize;
        return (first >= firstColumn && first <= lastColumn) || (second >= firstColumn && second <= lastColumn);
    }

    /// <summary>The part of data range [start, start + length) that falls in <paramref name="column"/>: in-chunk offset and length.</summary>
    private (int Offset, int Length) Piece(int start, int length, int column)
    {
        int columnStart = column * _layout.ChunkSize;
        int from = Math.Max(start, columnStart), to = Math.Min(start + length, columnStart + _layout.ChunkSize);
        return (from - columnStart, to - from);
    }

    /// <summary>Sorted, merged byte ranges of <paramref name="parityColumn"/> that the patches touch.</summary>
    private int MergeIntervals(ParityPatch[] patches, int[] patchCounts, int start, int length, int parityColumn, Span<(int Start, int End)> intervals)
    {
        ParityGeometry g = _layout.Parity;
        int count = 0, patchIndex = 0;
        int firstColumn = start / _layout.ChunkSize, lastColumn = (start + length - 1) / _layout.ChunkSize;
        for (int column = firstColumn; column <= lastColumn; column++)
        {
            (int offset, int pieceLength) = Piece(start, length, column);
            int n = patchCounts[column - firstColumn];
            for (int i = 0; i < n; i++)
            {
                ParityPatch patch = patches[patchIndex + i];
                if (patch.Column == parityColumn && patch.Length > 0)
                {
                    intervals[count++] = (patch.ParityOffset, patch.ParityOffset + patch.Length);
                }
            }

            patchIndex += g.MaxUpdatePatches(offset, pieceLength);
        }

        if (count == 0)
        {
            return 0;
        }

        intervals[..count].Sort(static (a, b) => a.Start.CompareTo(b.Start));
        int merged = 0;
        for (int i = 1; i < count; i++)
        {
            if (intervals[i].Start <= intervals[merged].End)
            {
                intervals[merged].End = Math.Max(intervals[merged].End, intervals[i].End);
            }
            else
            {
                intervals[++merged] = intervals[i];
            }
        }

        return merged + 1;
    }

    private void ApplyPatches(ParityPatch[] patches, int[] patchCounts, byte[] deltas, int start, int length, int parityColumn, Span<byte> parity)
    {
        ParityGeometry g = _layout.Parity;
        int patchIndex = 0;
        int firstColumn = start / _layout.ChunkSize, lastColumn = (start + length - 1) / _layout.ChunkSize;
        for (int column = firstColumn; column <= lastColumn; column++)
        {
            (int offset, int pieceLength) = Piece(start, length, column);
            int deltaAt = (column * _layout.ChunkSize) + offset - start;
            _codec.ApplyUpdate(deltas.AsSpan(deltaAt, pieceLength), patches.AsSpan(patchIndex, patchCounts[column - firstColumn]), parityColumn, parity);
            patchIndex += g.MaxUpdatePatches(offset, pieceLength);
        }
    }
}
