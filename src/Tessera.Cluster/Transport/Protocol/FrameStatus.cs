namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// The status a response (or a link-level error frame) carries. Values below
/// <see cref="ApplicationBase"/> belong to the transport; handlers define their own from it up
/// (e.g. "not the owner, epoch moved"). A non-Ok transport status carries a UTF-8 message as payload.
/// </summary>
internal enum FrameStatus : ushort
{
    Ok = 0,

    /// <summary>No handler is registered for the request's message type on the peer.</summary>
    UnknownMessageType = 1,

    /// <summary>The handler threw; the payload is the exception's type and message.</summary>
    HandlerFailed = 2,

    /// <summary>The frame's major version is not one this peer speaks. The link closes.</summary>
    UnsupportedVersion = 3,

    /// <summary>The payload length exceeds the receiver's maximum. The link closes.</summary>
    FrameTooLarge = 4,

    /// <summary>Bad magic, header CRC mismatch, unknown flags, truncated frame, misplaced frame. The link closes.</summary>
    MalformedFrame = 5,

    /// <summary>The first frame of a link was not a Hello. The link closes.</summary>
    HandshakeRequired = 6,

    /// <summary>The Hello named another cluster id. The link closes.</summary>
    ClusterMismatch = 7,

    /// <summary>The peer is stopping; the request was not executed.</summary>
    ShuttingDown = 8,

    /// <summary>First status a handler may define.</summary>
    ApplicationBase = 0x100,
}
