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
/// request id and the owner set for token ordering (C3).
/// </summary>
internal sealed class OwnerRequest
{
    public required OwnerOperation Operation { get; init; }

    public required Guid Volume { get; init; }

    public required OwnerSegment[] Segments { get; init; }

    /// <summary>Portal node (the originator in token-ordering terms).</summary>
    public NodeId Origin { get; init; }

    /// <summary>Cluster-unique id; set for multi-owner requests.</summary>
    public RequestId Id { get; init; }

    /// <summary>Owner set S(R), strictly increasing. Fewer than two owners: no ordering needed.</summary>
    public ReadOnlyMemory<NodeId> Owners { get; init; }

    /// <summary>Write or CAW write data (the whole request's buffer; segments index into it).</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>CAW verify data, indexed like <see cref="Data"/>.</summary>
    public ReadOnlyMemory<byte> Compare { get; init; }

    /// <summary>Read destination, indexed like <see cref="Data"/>.</summary>
    public Memory<byte> Destination { get; init; }

    public WriteFlags Flags { get; init; }

    /// <summary>Multi-owner COMPARE AND WRITE: where owners report their compare and learn the decision.</summary>
    public CompareAndWriteVote? Vote { get; init; }

    public bool IsOrdered => Owners.Length > 1;
}
