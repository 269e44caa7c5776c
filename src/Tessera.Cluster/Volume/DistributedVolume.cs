using Tessera.Cluster.Ordering;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// One node's portal view of a distributed volume (C1/C2; docs/distributed-volume.md). Reads go
/// straight to the data columns' nodes, and through the sub-unit owner (which rebuilds from parity
/// under the stripe lock) when a column's node is out. Writes, UNMAP and COMPARE AND WRITE are cut
/// into per-sub-unit segments and sent to the owners; a request with several owners carries one
/// request id and the owner set, so the owners apply it in token order (C3). Parts routed with a
/// stale ownership map, or caught by a node failure, are retried with a fresh map.
/// </summary>
internal sealed class DistributedVolume : IBlockStore
{
    private const int MaxAttempts = 4;

    private readonly VolumeLayout _layout;
    private readonly IOwnershipView _ownership;
    private readonly IOwnerChannel _owners;
    private readonly IChunkChannel _chunks;
    private readonly INodeLiveness _liveness;
    private long _sequence;
    private long _retries;

    public DistributedVolume(NodeId self, VolumeLayout layout, IOwnershipView ownership, IOwnerChannel owners, IChunkChannel chunks, INodeLiveness liveness)
    {
        Self = self;
        _layout = layout;
        _ownership = ownership;
        _owners = owners;
        _chunks = chunks;
        _liveness = liveness;
    }

    public NodeId Self { get; }

    public VolumeLayout Layout => _layout;

    public int BlockSize => _layout.BlockSize;

    public long BlockCount => _layout.BlockCount;

    /// <summary>Set for a read-only volume: the SCSI layer then write-protects the LU (SBC-4 4.11).</summary>
    public bool IsReadOnly { get; set; }

    /// <summary>A whole stripe is where parity space comes back too (SBC-4 6.6.4 OPTIMAL UNMAP GRANULARITY).</summary>
    public int UnmapGranularityBlocks => (int)(_layout.StripeDataSize / _layout.BlockSize);

    /// <summary>
    /// Test hook: multi-owner writes skip token ordering (each owner applies its part on arrival), to
    /// show that the atomicity check catches what ordering prevents. Never set outside tests.
    /// </summary>
    internal bool UnorderedForTesting { get; set; }

    /// <summary>Requests re-sent after a stale ownership map or a node failure.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Multi-owner requests sent (each went through token ordering).</summary>
    public long OrderedRequests => Interlocked.Read(ref _sequence);

    public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        long offset;
        try
        {
            offset = CheckRange(lba, destination.Length);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }

        return ReadCoreAsync(offset, destination, cancellationToken);
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        try
        {
            long offset = CheckRange(lba, source.Length);
            return source.IsEmpty ? default : Discard(ExecuteAsync(OwnerOperation.Write, offset, source.Length, source, default, flags, cancellationToken));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        // Every node's chunk file: data and parity of every completed write sit on all of them.
        var flushes = new List<Task>(_layout.NodeCount);
        for (int node = 0; node < _layout.NodeCount; node++)
        {
            var id = new NodeId(node);
            if (_liveness.AcceptsChunkIo(id))
            {
                flushes.Add(FlushNodeAsync(id, cancellationToken));
            }
        }

        await Task.WhenAll(flushes).ConfigureAwait(false);
    }

    public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default)
    {
        try
        {
            if (blockCount < 0 || lba < 0 || lba > BlockCount - blockCount)
            {
                throw new ArgumentOutOfRangeException(nameof(blockCount), $"blocks {lba}+{blockCount} are outside the volume ({BlockCount} blocks)");
            }

            return blockCount == 0 ? default : Discard(ExecuteAsync(OwnerOperation.Unmap, lba * BlockSize, blockCount * BlockSize, default, default, WriteFlags.None, cancellationToken));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        try
        {
            if (compare.Length != write.Length)
            {
                throw new ArgumentException($"compare ({compare.Length} bytes) and write ({write.Length} bytes) buffers differ in length", nameof(write));
            }

            long offset = CheckRange(lba, write.Length);
            return ExecuteAsync(OwnerOperation.CompareAndWrite, offset, write.Length, write, compare, flags, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    public async ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default)
    {
        if (lba < 0 || lba >= BlockCount)
        {
            throw new ArgumentOutOfRangeException(nameof(lba), lba, $"the volume has {BlockCount} blocks");
        }

        // Provisioning follows the data columns; runs are merged across chunks up to a bound so one
        // call stays cheap on a huge volume (SBC-4 5.6 lets the device return a shorter run). The
        // chunks' statuses are asked for a batch at a time, all at once: one by one, a long run cost
        // thousands of sequential round trips to other nodes — and QEMU asks before reads of 32 KiB
        // and more whose allocation it does not know yet. At most a batch is asked beyond the run's end.
        const int MaxChunks = 4096, Batch = 64;
        long at = lba * BlockSize;
        bool? mapped = null;
        var statuses = new ValueTask<(bool Mapped, int Length)>[Batch];
        bool ended = false;
        for (int chunks = 0; !ended && chunks < MaxChunks && at < _layout.SizeBytes;)
        {
            // After the first piece every chunk is whole, so the batch's addresses are known ahead.
            int asked = 0;
            for (long next = at; asked < Batch && chunks + asked < MaxChunks && next < _layout.SizeBytes; asked++)
            {
                (long stripe, int column, int offset) = Locate(next);
                statuses[asked] = ChunkStatus(stripe, column, offset, cancellationToken);
                next += _layout.ChunkSize - offset;
            }

            for (int i = 0; i < asked; i++)
            {
                (bool pieceMapped, int length) = await statuses[i].ConfigureAwait(false);
                if (ended)
                {
                    continue; // awaited all the same: a ValueTask must not be left behind
                }

                int offset = Locate(at).Offset;
                if (mapped is null)
                {
                    mapped = pieceMapped;
                }
                else if (mapped != pieceMapped)
                {
                    ended = true;
                    continue;
                }

                at += length;
                if (offset + length < _layout.ChunkSize)
                {
                    ended = true;
                }
            }

            chunks += asked;
        }

        long end = Math.Min(at, _layout.SizeBytes);
        long blocks = mapped == true ? (end + BlockSize - 1) / BlockSize - lba : end / BlockSize - lba;
        return new LbaStatusRun(lba, Math.Max(1, blocks), mapped ?? true);
    }

    /// <summary>One chunk's provisioning from its node; "mapped" while the column is out (never makes a host lose data).</summary>
    private async ValueTask<(bool Mapped, int Length)> ChunkStatus(long stripe, int column, int offset, CancellationToken cancellationToken)
    {
        NodeId node = _layout.NodeOf(stripe, column);
        if (_liveness.IsColumnAvailable(_layout.VolumeId, node, stripe))
        {
            try
            {
                return await _chunks.GetStatusAsync(node, new ChunkAddress(_layout.VolumeId, stripe, column), offset, cancellationToken).ConfigureAwait(false);
            }
            catch (NodeUnavailableException)
            {
            }
        }

        return (true, _layout.ChunkSize - offset);
    }

    private async Task FlushNodeAsync(NodeId node, CancellationToken cancellationToken)
    {
        try
        {
            await _chunks.FlushAsync(node, _layout.VolumeId, cancellationToken).ConfigureAwait(false);
        }
        catch (NodeUnavailableException)
        {
            // Out of the cluster: its columns are rebuilt from parity; the survivors hold every write.
        }
    }

    /// <summary>
    /// Reads from the data columns' nodes, all chunk pieces at once (over a network they overlap).
    /// Page-cache reads complete synchronously, so a read that finds every column available stays
    /// on the caller's thread and allocates nothing. When a column is out (known before, or found
    /// by a failing read), the started reads are awaited and the range is read again piece by piece,
    /// the missing pieces through their owners.
    /// </summary>
    private ValueTask ReadCoreAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var reads = default(ChunkFanOut);
        bool degraded = false;
        for (int done = 0; done < destination.Length;)
        {
            (long stripe, int column, int chunkOffset) = Locate(offset + done);
            int length = Math.Min(_layout.ChunkSize - chunkOffset, destination.Length - done);
            NodeId node = _layout.NodeOf(stripe, column);
            if (!_liveness.IsColumnAvailable(_layout.VolumeId, node, stripe))
            {
                degraded = true;
                break;
            }

            reads.Add(ReadChunk(node, new ChunkAddress(_layout.VolumeId, stripe, column), chunkOffset, destination.Slice(done, length), cancellationToken));
            done += length;
        }

        ValueTask all = reads.WhenAllAsync();
        if (!degraded && all.IsCompletedSuccessfully)
        {
            all.GetAwaiter().GetResult();
            return default;
        }

        return FinishReadAsync(all, degraded, offset, destination, cancellationToken);
    }

    private async ValueTask FinishReadAsync(ValueTask reads, bool degraded, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            await reads.ConfigureAwait(false);
        }
        catch (NodeUnavailableException)
        {
            degraded = true;
        }

        if (degraded)
        {
            await ReadSlowAsync(offset, destination, 0, cancellationToken).ConfigureAwait(false);
        }
    }

    private ValueTask ReadChunk(NodeId node, ChunkAddress chunk, int offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return _chunks.ReadAsync(node, chunk, offset, destination, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private async ValueTask ReadSlowAsync(long offset, Memory<byte> destination, int done, CancellationToken cancellationToken)
    {
        while (done < destination.Length)
        {
            long at = offset + done;
            (long stripe, int column, int chunkOffset) = Locate(at);
            int length = Math.Min(_layout.ChunkSize - chunkOffset, destination.Length - done);
            Memory<byte> piece = destination.Slice(done, length);
            NodeId node = _layout.NodeOf(stripe, column);
            bool direct = false;
            if (_liveness.IsColumnAvailable(_layout.VolumeId, node, stripe))
            {
                try
                {
                    await _chunks.ReadAsync(node, new ChunkAddress(_layout.VolumeId, stripe, column), chunkOffset, piece, cancellationToken).ConfigureAwait(false);
                    direct = true;
                }
                catch (NodeUnavailableException)
                {
                }
            }

            if (!direct)
            {
                // Degraded: the owner rebuilds the piece from parity with the stripe locked, so it never
                // combines a half-updated stripe.
                await ExecuteAsync(OwnerOperation.Read, at, length, default, default, WriteFlags.None, cancellationToken, piece).ConfigureAwait(false);
            }

            done += length;
        }
    }

    private async ValueTask<int> ExecuteAsync(OwnerOperation operation, long offset, long length, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> compare,
        WriteFlags flags, CancellationToken cancellationToken, Memory<byte> destination = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await ExecuteOnceAsync(operation, offset, length, data, compare, flags, destination, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxAttempts && ex is StaleOwnershipException or NodeUnavailableException)
            {
                // Ownership moved or a node left mid-request: the map and liveness are fresh on the next try.
                // A torn write is allowed for a command that has not completed (SBC-4 4.x); the retry repairs it.
                Interlocked.Increment(ref _retries);
                await Task.Delay(attempt, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<int> ExecuteOnceAsync(OwnerOperation operation, long offset, long length, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> compare,
        WriteFlags flags, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return -1;
        }

        long firstUnit = _layout.SubUnitOfByte(offset), lastUnit = _layout.SubUnitOfByte(offset + length - 1);
        if (firstUnit == lastUnit)
        {
            // The common case: one sub-unit, one owner, a pooled request.
            long epoch = _ownership.Epoch(firstUnit);
            NodeId owner = _ownership.Owner(firstUnit);
            OwnerRequest single = OwnerRequest.Rent(operation, _layout.VolumeId, Self, new OwnerSegment(offset, length, 0, firstUnit, epoch), data, compare, destination, flags);
            ValueTask<int> pending = _owners.ExecuteAsync(owner, single, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                int result = pending.Result;
                OwnerRequest.Return(single);
                return result;
            }

            try
            {
                return await pending.ConfigureAwait(false);
            }
            finally
            {
                OwnerRequest.Return(single);
            }
        }

        // One snapshot of the map for the whole request: owners and the epochs the parts are routed with.
        int units = checked((int)(lastUnit - firstUnit + 1));
        var unitOwners = new NodeId[units];
        var epochs = new long[units];
        for (int i = 0; i < units; i++)
        {
            epochs[i] = _ownership.Epoch(firstUnit + i);
            unitOwners[i] = _ownership.Owner(firstUnit + i);
        }

        NodeId[] owners = DistinctSorted(unitOwners);
        if (owners.Length == 1)
        {
            var request = new OwnerRequest
            {
                Operation = operation,
                Volume = _layout.VolumeId,
                Origin = Self,
                Segments = Segments(firstUnit, unitOwners, epochs, offset, length, owners[0]),
                Data = data,
                Compare = compare,
                Destination = destination,
                Flags = flags,
            };
            return await _owners.ExecuteAsync(owners[0], request, cancellationToken).ConfigureAwait(false);
        }

        // Several owners: one id, owners in the global node order, one part each (C3).
        RequestId id = RequestId.Create(Self, (ulong)Interlocked.Increment(ref _sequence));
        CompareAndWriteVote? vote = operation == OwnerOperation.CompareAndWrite ? new CompareAndWriteVote(owners.Length) : null;
        var parts = new Task<int>[owners.Length];
        for (int i = 0; i < owners.Length; i++)
        {
            var request = new OwnerRequest
            {
                Operation = operation,
                Volume = _layout.VolumeId,
                Origin = Self,
                Id = id,
                Owners = UnorderedForTesting && vote is null ? default : owners,
                Segments = Segments(firstUnit, unitOwners, epochs, offset, length, owners[i]),
                Data = data,
                Compare = compare,
                Destination = destination,
                Flags = flags,
                Vote = vote,
            };
            parts[i] = SendPartAsync(owners[i], request, vote, cancellationToken);
        }

        try
        {
            await Task.WhenAll(parts).ConfigureAwait(false);
        }
        catch
        {
            // Prefer a retryable cause so the retry loop sees it.
            foreach (Task<int> part in parts)
            {
                if (part.IsFaulted && part.Exception!.InnerException is StaleOwnershipException or NodeUnavailableException)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(part.Exception.InnerException);
                }
            }

            throw;
        }

        return vote?.Miscompare ?? -1;
    }

    private async Task<int> SendPartAsync(NodeId owner, OwnerRequest request, CompareAndWriteVote? vote, CancellationToken cancellationToken)
    {
        try
        {
            return await _owners.ExecuteAsync(owner, request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The other owners of a CAW must not wait for a vote that will never come.
            vote?.Abort(ex);
            throw;
        }
    }

    private static NodeId[] DistinctSorted(NodeId[] unitOwners)
    {
        if (unitOwners.Length == 1)
        {
            return unitOwners;
        }

        var set = new SortedSet<int>();
        foreach (NodeId owner in unitOwners)
        {
            set.Add(owner.Value);
        }

        var owners = new NodeId[set.Count];
        int i = 0;
        foreach (int node in set)
        {
            owners[i++] = new NodeId(node);
        }

        return owners;
    }

    /// <summary>Segments of the request's sub-units that <paramref name="owner"/> owns in the snapshot.</summary>
    private OwnerSegment[] Segments(long firstUnit, NodeId[] unitOwners, long[] epochs, long offset, long length, NodeId owner)
    {
        int count = 0;
        foreach (NodeId unitOwner in unitOwners)
        {
            count += unitOwner == owner ? 1 : 0;
        }

        var segments = new OwnerSegment[count];
        int n = 0;
        long end = offset + length;
        for (int i = 0; i < unitOwners.Length; i++)
        {
            if (unitOwners[i] != owner)
            {
                continue;
            }

            long u = firstUnit + i;
            long from = Math.Max(offset, _layout.SubUnitStart(u)), to = Math.Min(end, _layout.SubUnitEnd(u));
            segments[n++] = new OwnerSegment(from, to - from, from - offset, u, epochs[i]);
        }

        return segments;
    }

    private (long Stripe, int Column, int Offset) Locate(long byteOffset)
    {
        long stripe = _layout.StripeOf(byteOffset);
        long inStripe = byteOffset - (stripe * _layout.StripeDataSize);
        return (stripe, (int)(inStripe / _layout.ChunkSize), (int)(inStripe % _layout.ChunkSize));
    }

    private long CheckRange(long lba, int byteCount)
    {
        if (byteCount % BlockSize != 0)
        {
            throw new ArgumentException($"transfer of {byteCount} bytes is not a whole number of {BlockSize}-byte blocks", nameof(byteCount));
        }

        long blocks = byteCount / BlockSize;
        if (lba < 0 || lba > BlockCount - blocks)
        {
            throw new ArgumentOutOfRangeException(nameof(lba), lba, $"blocks {lba}..{lba + blocks - 1} are outside the volume ({BlockCount} blocks)");
        }

        return lba * BlockSize;
    }

    private static async ValueTask Discard(ValueTask<int> operation) => await operation.ConfigureAwait(false);
}
