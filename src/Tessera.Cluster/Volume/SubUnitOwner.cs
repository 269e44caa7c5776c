using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's owner role for one volume: executes the parts of requests on the sub-units this node
/// owns. Every part takes the locks of all its stripes in one step (<see cref="StripeLockTable"/>)
/// and runs the stripe paths of <see cref="StripeEngine"/> under them. Single-owner parts are
/// applied on arrival; multi-owner parts wait in the <see cref="OrderingMailbox"/> until the token
/// protocol (C3) applies them, so all owners lock — and therefore write — overlapping requests in
/// the same order. The epoch a part was routed with is checked when it is applied.
/// </summary>
internal sealed class SubUnitOwner
{
    private readonly VolumeLayout _layout;
    private readonly IOwnershipView _ownership;
    private readonly StripeEngine _engine;
    private readonly StripeLockTable _locks = new();
    private long _coalescedWrites;

    public SubUnitOwner(NodeId self, VolumeLayout layout, IOwnershipView ownership, IChunkChannel chunks, INodeLiveness liveness)
    {
        Self = self;
        _layout = layout;
        _ownership = ownership;
        _engine = new StripeEngine(layout, chunks, liveness);
        Ordering = new OrderingMailbox(self, Apply);
    }

    public NodeId Self { get; }

    public OrderingMailbox Ordering { get; }

    public StripeLockTable Locks => _locks;

    /// <summary>Writes that joined another's <see cref="StripeWriteBatch"/> instead of taking the stripe themselves.</summary>
    public long CoalescedWrites => Interlocked.Read(ref _coalescedWrites);

    internal StripeEngine Engine => _engine;

    public ValueTask<int> ExecuteAsync(OwnerRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Volume != _layout.VolumeId)
        {
            return ValueTask.FromException<int>(new ArgumentException($"part for volume {request.Volume} sent to the owner of {_layout.VolumeId}", nameof(request)));
        }

        return request.IsOrdered ? new ValueTask<int>(Ordering.SubmitAsync(request)) : Apply(request);
    }

    /// <summary>
    /// Parity scrub of one stripe under its lock: true when every row and diagonal checks, null when
    /// a column's node is out.
    /// </summary>
    public async ValueTask<bool?> ScrubStripeAsync(long stripe, CancellationToken cancellationToken = default)
    {
        long[] stripes = [stripe];
        StripeLockGrant grant = _locks.Enqueue(stripes, 1);
        try
        {
            await grant.WaitAsync().ConfigureAwait(false);
            return await _engine.IsConsistentAsync(stripe, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _locks.Release(grant);
        }
    }

    /// <summary>
    /// Rebuilds <paramref name="node"/>'s column of <paramref name="stripe"/> under the stripe lock,
    /// then runs <paramref name="rebuilt"/> (the caller marks the column available) before any later
    /// write of the stripe can start — so no write can slip between rebuild and availability.
    /// </summary>
    public async ValueTask RebuildStripeAsync(long stripe, NodeId node, Action rebuilt, CancellationToken cancellationToken = default)
    {
        int column = _layout.ColumnOf(stripe, node);
        long[] stripes = [stripe];
        StripeLockGrant grant = _locks.Enqueue(stripes, 1);
        try
        {
            await grant.WaitAsync().ConfigureAwait(false);
            if (column >= 0)
            {
                await _engine.RebuildColumnAsync(stripe, column, cancellationToken).ConfigureAwait(false);
            }

            rebuilt();
        }
        finally
        {
            _locks.Release(grant);
        }
    }

    /// <summary>
    /// Rebuilds stale <paramref name="node"/>'s column of every stripe of <paramref name="subUnit"/>,
    /// which this node must own at <paramref name="epoch"/>, one stripe at a time under its lock;
    /// each stripe goes into <paramref name="rebuilt"/> before its lock is released. Stops when the
    /// rebuild is aborted or the sub-unit moves. Returns the stripes done.
    /// </summary>
    public async ValueTask<long> RebuildSubUnitAsync(long subUnit, long epoch, NodeId node, RebuiltStripes rebuilt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rebuilt);
        if ((ulong)subUnit >= (ulong)_layout.SubUnitCount)
        {
            throw new ArgumentOutOfRangeException(nameof(subUnit), subUnit, $"volume {_layout.VolumeId} has {_layout.SubUnitCount} sub-units");
        }

        long first = subUnit * _layout.StripesPerSubUnit, end = Math.Min(first + _layout.StripesPerSubUnit, _layout.StripeCount);
        for (long stripe = first; stripe < end; stripe++)
        {
            long owned = _ownership.Epoch(subUnit);
            if (_ownership.Owner(subUnit) != Self || owned != epoch)
            {
                throw new StaleOwnershipException(subUnit, epoch, owned);
            }

            if (rebuilt.Aborted)
            {
                throw new InvalidOperationException($"rebuild of node {node} aborted on {Self}: membership changed");
            }

            long s = stripe;
            await RebuildStripeAsync(stripe, node, () => rebuilt.Add(s), cancellationToken).ConfigureAwait(false);
        }

        return end - first;
    }

    /// <summary>
    /// Checks ownership and enqueues the part's stripe locks synchronously (the caller's order is the
    /// lock order), then runs it.
    /// </summary>
    private ValueTask<int> Apply(OwnerRequest request)
    {
        long[] stripes;
        int count;
        try
        {
            count = CheckAndCountStripes(request);
            stripes = ArrayPool<long>.Shared.Rent(count);
            int n = 0;
            foreach (OwnerSegment segment in request.Segments)
            {
                long last = _layout.StripeOf(segment.Offset + segment.Length - 1);
                for (long s = _layout.StripeOf(segment.Offset); s <= last; s++)
                {
                    stripes[n++] = s;
                }
            }
        }
        catch (Exception ex)
        {
            request.Vote?.Abort(ex);
            return ValueTask.FromException<int>(ex);
        }

        if (count == 1 && request.Operation == OwnerOperation.Write && !request.IsOrdered && request.Vote is null && request.Segments.Length == 1)
        {
            StripeWriteBatch batch = _locks.EnqueueWrite(stripes, request, out Task<int>? joined);
            if (joined is not null)
            {
                Interlocked.Increment(ref _coalescedWrites);
                ArrayPool<long>.Shared.Return(stripes);
                return new ValueTask<int>(joined);
            }

            return RunBatchAsync(batch, stripes);
        }

        StripeLockGrant grant = _locks.Enqueue(stripes, count);
        return RunAsync(request, grant, stripes);
    }

    /// <summary>
    /// Leads a <see cref="StripeWriteBatch"/>: once the stripe is its own, no one joins any more; its
    /// members are written, then completed with the leader's outcome.
    /// </summary>
    private async ValueTask<int> RunBatchAsync(StripeWriteBatch batch, long[] stripes)
    {
        Exception? error = null;
        try
        {
            await batch.Grant.WaitAsync().ConfigureAwait(false);
            _locks.Seal(batch);
            await WriteBatchAsync(batch).ConfigureAwait(false);
            return -1;
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            _locks.Seal(batch);
            batch.Complete(error);
            _locks.Release(batch);
            ArrayPool<long>.Shared.Return(stripes);
        }
    }

    /// <summary>
    /// Members whose ranges overlap or touch form a run, written once with the members laid over each
    /// other in arrival order (the later wins where they overlap, as one by one); a lone member is
    /// written from its own buffer.
    /// </summary>
    private async ValueTask WriteBatchAsync(StripeWriteBatch batch)
    {
        IReadOnlyList<OwnerRequest> members = batch.Members;
        CheckStillOwner(members[0].Segments[0]);
        long stripeStart = batch.Stripe * _layout.StripeDataSize;
        if (members.Count == 1)
        {
            OwnerRequest only = members[0];
            OwnerSegment segment = only.Segments[0];
            ReadOnlyMemory<byte> source = only.Data.Slice((int)segment.BufferOffset, (int)segment.Length);
            await _engine.WriteAsync(batch.Stripe, (int)(segment.Offset - stripeStart), (int)segment.Length, source, unmap: false, only.Flags, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        int n = members.Count;
        (int Start, int End)[] ranges = ArrayPool<(int, int)>.Shared.Rent(n);
        (int Start, int End)[] sorted = ArrayPool<(int, int)>.Shared.Rent(n);
        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)_layout.StripeDataSize);
        try
        {
            for (int k = 0; k < n; k++)
            {
                OwnerSegment segment = members[k].Segments[0];
                int start = (int)(segment.Offset - stripeStart);
                ranges[k] = sorted[k] = (start, start + (int)segment.Length);
            }

            Array.Sort(sorted, 0, n);
            for (int i = 0; i < n;)
            {
                (int runStart, int runEnd) = sorted[i];
                for (i++; i < n && sorted[i].Start <= runEnd; i++)
                {
                    runEnd = Math.Max(runEnd, sorted[i].End);
                }

                WriteFlags flags = WriteFlags.None;
                for (int k = 0; k < n; k++)
                {
                    (int start, int end) = ranges[k];
                    if (start < runStart || end > runEnd)
                    {
                        continue;
                    }

                    OwnerRequest member = members[k];
                    member.Data.Span.Slice((int)member.Segments[0].BufferOffset, end - start).CopyTo(buffer.AsSpan(start - runStart));
                    flags |= member.Flags;
                }

                await _engine.WriteAsync(batch.Stripe, runStart, runEnd - runStart, buffer.AsMemory(0, runEnd - runStart), unmap: false, flags, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<(int, int)>.Shared.Return(sorted);
            ArrayPool<(int, int)>.Shared.Return(ranges);
        }
    }

    private void CheckStillOwner(in OwnerSegment segment)
    {
        if (!_engine.Liveness.IsUp(Self))
        {
            throw new NodeUnavailableException(Self);
        }

        long owned = _ownership.Epoch(segment.SubUnit);
        if (owned != segment.Epoch || _ownership.Owner(segment.SubUnit) != Self)
        {
            throw new StaleOwnershipException(segment.SubUnit, segment.Epoch, owned);
        }
    }

    private int CheckAndCountStripes(OwnerRequest request)
    {
        long count = 0;
        foreach (OwnerSegment segment in request.Segments)
        {
            long owned = _ownership.Epoch(segment.SubUnit);
            if (_ownership.Owner(segment.SubUnit) != Self || owned != segment.Epoch)
            {
                throw new StaleOwnershipException(segment.SubUnit, segment.Epoch, owned);
            }

            if (segment.Length <= 0 || segment.Offset < _layout.SubUnitStart(segment.SubUnit) || segment.Offset + segment.Length > _layout.SubUnitEnd(segment.SubUnit))
            {
                throw new ArgumentOutOfRangeException(nameof(request), $"segment {segment} is not inside sub-unit {segment.SubUnit}");
            }

            count += _layout.StripeOf(segment.Offset + segment.Length - 1) - _layout.StripeOf(segment.Offset) + 1;
        }

        return checked((int)count);
    }

    private async ValueTask<int> RunAsync(OwnerRequest request, StripeLockGrant grant, long[] stripes)
    {
        try
        {
            await grant.WaitAsync().ConfigureAwait(false);
            switch (request.Operation)
            {
                case OwnerOperation.Read:
                    await ReadAsync(request).ConfigureAwait(false);
                    return -1;
                case OwnerOperation.Write:
                case OwnerOperation.Unmap:
                    await WriteAsync(request).ConfigureAwait(false);
                    return -1;
                case OwnerOperation.CompareAndWrite:
                    return await CompareAndWriteAsync(request).ConfigureAwait(false);
                default:
                    throw new ArgumentException($"unknown owner operation {request.Operation}", nameof(request));
            }
        }
        catch (Exception ex)
        {
            request.Vote?.Abort(ex);
            throw;
        }
        finally
        {
            _locks.Release(grant);
            ArrayPool<long>.Shared.Return(stripes);
        }
    }

    private async ValueTask ReadAsync(OwnerRequest request)
    {
        foreach (OwnerSegment segment in request.Segments)
        {
            for (long at = segment.Offset, end = segment.Offset + segment.Length; at < end;)
            {
                (long stripe, int start, int length) = StripePiece(at, end);
                Memory<byte> destination = request.Destination.Slice((int)(segment.BufferOffset + (at - segment.Offset)), length);
                await _engine.ReadAsync(stripe, start, destination, CancellationToken.None).ConfigureAwait(false);
                at += length;
            }
        }
    }

    private async ValueTask WriteAsync(OwnerRequest request)
    {
        bool unmap = request.Operation == OwnerOperation.Unmap;
        foreach (OwnerSegment segment in request.Segments)
        {
            long end = segment.Offset + segment.Length;
            for (long at = segment.Offset; at < end;)
            {
                // In process a node marked down keeps running: stop at the next stripe once this node
                // is out or the sub-unit has moved (fencing at the chunk stores will make this airtight).
                CheckStillOwner(segment);
                (long stripe, int start, int length) = StripePiece(at, end);
                if (unmap && length == _layout.StripeDataSize)
                {
                    // A run of whole stripes: one punch per node covers all of them (stripes a node does
                    // not hold are holes in its chunk file already; all-zero stripes have zero parity).
                    long run = Math.Min((end - at) / _layout.StripeDataSize, _layout.StripeCount - stripe);
                    await UnmapStripesAsync(stripe, run).ConfigureAwait(false);
                    at += run * _layout.StripeDataSize;
                    continue;
                }

                ReadOnlyMemory<byte> source = unmap ? default : request.Data.Slice((int)(segment.BufferOffset + (at - segment.Offset)), length);
                await _engine.WriteAsync(stripe, start, length, source, unmap, request.Flags, CancellationToken.None).ConfigureAwait(false);
                at += length;
            }
        }
    }

    private async ValueTask UnmapStripesAsync(long firstStripe, long count)
    {
        IChunkChannel chunks = _engine.Chunks;
        for (int node = 0; node < _layout.NodeCount; node++)
        {
            var id = new NodeId(node);
            if (_engine.Liveness.AcceptsChunkIo(id))
            {
                await chunks.UnmapStripesAsync(id, _layout.VolumeId, firstStripe, count).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<int> CompareAndWriteAsync(OwnerRequest request)
    {
        int miscompare = -1;
        foreach (OwnerSegment segment in request.Segments)
        {
            int length = (int)segment.Length;
            byte[] current = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                for (long at = segment.Offset, end = segment.Offset + segment.Length; at < end;)
                {
                    (long stripe, int start, int pieceLength) = StripePiece(at, end);
                    await _engine.ReadAsync(stripe, start, current.AsMemory((int)(at - segment.Offset), pieceLength), CancellationToken.None).ConfigureAwait(false);
                    at += pieceLength;
                }

                int common = request.Compare.Span.Slice((int)segment.BufferOffset, length).CommonPrefixLength(current.AsSpan(0, length));
                if (common < length)
                {
                    int offset = (int)segment.BufferOffset + common;
                    miscompare = miscompare < 0 ? offset : Math.Min(miscompare, offset);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(current);
            }
        }

        bool commit = request.Vote is { } vote
            ? await vote.ReportAsync(miscompare).ConfigureAwait(false)
            : miscompare < 0;
        if (commit)
        {
            await WriteAsync(request).ConfigureAwait(false);
        }

        return miscompare;
    }

    /// <summary>The piece of [at, end) inside at's stripe: stripe, offset in its data, length.</summary>
    private (long Stripe, int Start, int Length) StripePiece(long at, long end)
    {
        long stripe = _layout.StripeOf(at);
        long stripeStart = stripe * _layout.StripeDataSize;
        int start = (int)(at - stripeStart);
        int length = (int)Math.Min(end - at, _layout.StripeDataSize - start);
        return (stripe, start, length);
    }
}
