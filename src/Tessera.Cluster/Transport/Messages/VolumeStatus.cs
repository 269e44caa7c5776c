namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Application statuses of the volume I/O messages (types 100-199, docs/inter-node-protocol.md §7):
/// each carries enough to rebuild, on the asking node, the exception the volume code expects.
/// </summary>
internal enum VolumeStatus : ushort
{
    /// <summary>A node is out (payload: its id, i32). The portal retries with fresh liveness.</summary>
    NodeUnavailable = 0x100,

    /// <summary>The part was routed with an old ownership map (payload: sub-unit, expected epoch, actual epoch; i64 each).</summary>
    StaleOwnership = 0x101,

    /// <summary>An I/O or parity failure on the peer (payload: UTF-8 text).</summary>
    IoError = 0x102,

    /// <summary>The request does not fit the peer's state, e.g. a chunk it does not hold (payload: UTF-8 text).</summary>
    InvalidOperation = 0x103,

    /// <summary>A field out of range (payload: UTF-8 text).</summary>
    InvalidArgument = 0x104,
}
