using Tessera.Cluster.Ordering;
using Tessera.Scsi;

namespace Tessera.Cluster.Volume;

internal enum OwnerOperation : byte
{
    /// <summary>Read under the stripe locks (degraded reads: parity and data must not be caught mid-update).</summary>
    Read = 1,
    Write = 2,

    /// <summary>Zeros with parity kept consistent; whole stripes and data ranges are punched.</summary>
    Unmap = 3,
    CompareAndWrite = 4,
}

/// <summary>
/// One contiguous volume byte range inside one sub-unit: [<see cref="Offset"/>, +<see cref="Length"/>),
/// whose bytes sit at <see cref="BufferOffset"/> of the request's buffers. <see cref="Epoch"/> is the
/// ownership epoch the portal routed it with.
/// </summary>
internal readonly record struct OwnerSegment(long Offset, long Length, long BufferOffset, long SubUnit, long Epoch);

/// <summary>
/// One owner's part of a volume request, as a portal sends it (in process: this object; over TCP:
/// a frame with the same fields and only the segments' bytes). Multi-owner parts carry the
/// request id and the owner set for token ordering (C3). Single-sub-unit requests reuse pooled
/// instances (<see cref="Rent"/>/<see cref="Return"/>), so the common I/O allocates none; an
/// instance is changed only between uses, never while an owner holds it.
/// </summary>
internal sealed class OwnerRequest
{
    private static readonly System.Collections.Concurrent.ConcurrentQueue<OwnerRequest> Pool = new();

    public OwnerOperation Operation { get; set; }

    public Guid Volume { get; set; }

    public OwnerSegment[] Segments { get; set; } = [];

    /// <summary>Portal node (the originator in token-ordering terms).</summary>
    public NodeId Origin { get; set; }

    /// <summary>Cluster-unique id; set for multi-owner requests.</summary>
    public RequestId Id { get; set; }

    /// <summary>Owner set S(R), strictly increasing. Fewer than two owners: no ordering needed.</summary>
    public ReadOnlyMemory<NodeId> Owners { get; set; }

    /// <summary>Write or CAW write data (the whole request's buffer; segments index into it).</summary>
    public ReadOnlyMemory<byte> Data { get; set; }

    /// <summary>CAW verify data, indexed like <see cref="Data"/>.</summary>
    public ReadOnlyMemory<byte> Compare { get; set; }

    /// <summary>Read destination, indexed like <see cref="Data"/>.</summary>
    public Memory<byte> Destination { get; set; }

    public WriteFlags Flags { get; set; }

    /// <summary>Multi-owner COMPARE AND WRITE: where owners report their compare and learn the decision.</summary>
    public ICompareAndWriteVote? Vote { get; set; }

    public bool IsOrdered => Owners.Length > 1;

    /// <summary>A pooled single-segment, single-owner request (no ordering, no vote).</summary>
    public static OwnerRequest Rent(OwnerOperation operation, Guid volume, NodeId origin, in OwnerSegment segment,
        ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> compare, Memory<byte> destination, WriteFlags flags)
    {
        if (!Pool.TryDequeue(out OwnerRequest? request))
        {
            request = new OwnerRequest { Segments = new OwnerSegment[1] };
        }

        request.Operation = operation;
        request.Volume = volume;
        request.Origin = origin;
        request.Segments[0] = segment;
        request.Data = data;
        request.Compare = compare;
        request.Destination = destination;
        request.Flags = flags;
        return request;
    }

    /// <summary>Back to the pool once the owner has completed it; drops the buffer references.</summary>
    public static void Return(OwnerRequest request)
    {
        request.Data = default;
        request.Compare = default;
        request.Destination = default;
        Pool.Enqueue(request);
    }
}
