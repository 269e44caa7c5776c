namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// The message type registry (docs/inter-node-protocol.md §7). Ranges are reserved per area so
/// teams add types without colliding; a number once shipped keeps its meaning within a major version.
/// </summary>
internal static class MessageType
{
    /// <summary>1-99: link control, handled by the transport itself.</summary>
    public const ushort ControlFirst = 1;
    public const ushort ControlLast = 99;

    /// <summary>First frame of every link, both directions (request and response).</summary>
    public const ushort Hello = 1;

    /// <summary>Link-level error (request id 0), sent just before the sender closes the link.</summary>
    public const ushort Error = 2;

    /// <summary>Liveness / latency probe: an empty request answered by an empty response.</summary>
    public const ushort Ping = 3;

    /// <summary>100-199: volume I/O between a portal node and sub-unit owners (chunk reads/writes, parity deltas).</summary>
    public const ushort VolumeFirst = 100;
    public const ushort VolumeLast = 199;

    /// <summary>Volume: portal → owner, a part that needs no ordering (request; response: miscompare, read bytes).</summary>
    public const ushort VolumeOwnerPart = 100;

    /// <summary>Volume: portal → owner, a multi-owner part applied in token order (one-way; answered by <see cref="VolumePartDone"/>).</summary>
    public const ushort VolumeOrderedPart = 101;

    /// <summary>Volume: owner → portal, an ordered part's outcome (one-way).</summary>
    public const ushort VolumePartDone = 102;

    /// <summary>Volume: owner → portal, its compare of a multi-owner COMPARE AND WRITE, stripes locked (one-way).</summary>
    public const ushort VolumeCawVote = 103;

    /// <summary>Volume: portal → owner, write or abort a multi-owner COMPARE AND WRITE (one-way).</summary>
    public const ushort VolumeCawDecision = 104;

    /// <summary>Volume: rebuild coordinator → every node, arm for a rebuild of a stale node's columns (request; response: empty).</summary>
    public const ushort VolumeRebuildBegin = 105;

    /// <summary>Volume: rebuild coordinator → owner, rebuild a stale node's column of every stripe of one sub-unit (request; response: stripes).</summary>
    public const ushort VolumeRebuildSubUnit = 106;

    /// <summary>Chunk service: read part of a chunk (request; response: the bytes).</summary>
    public const ushort ChunkRead = 110;

    public const ushort ChunkWrite = 111;

    public const ushort ChunkUnmap = 112;

    /// <summary>Chunk service: punch whole stripes of a volume on one node.</summary>
    public const ushort ChunkUnmapStripes = 113;

    public const ushort ChunkFlush = 114;

    /// <summary>Chunk service: provisioning status from an offset of a chunk.</summary>
    public const ushort ChunkStatus = 115;

    /// <summary>200-299: token-ordered multicast (C3) and ownership tokens.</summary>
    public const ushort OrderingFirst = 200;
    public const ushort OrderingLast = 299;

    /// <summary>Ordering: originator → every owner, the request (OrderingMessageKind.Data).</summary>
    public const ushort OrderingData = 200;

    /// <summary>Ordering: owner nᵢ → nᵢ₊₁, the token with the running timestamp.</summary>
    public const ushort OrderingToken = 201;

    /// <summary>Ordering: last owner → the others, the final timestamp.</summary>
    public const ushort OrderingFinal = 202;

    /// <summary>300-399: replicated SCSI context (C1) and logical replication (C4).</summary>
    public const ushort ContextFirst = 300;
    public const ushort ContextLast = 399;

    public static bool IsControl(ushort type) => type is >= ControlFirst and <= ControlLast;
}
