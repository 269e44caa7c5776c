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
