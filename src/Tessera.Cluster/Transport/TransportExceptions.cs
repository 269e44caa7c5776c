using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport;

/// <summary>Base of every failure the inter-node transport reports to callers.</summary>
internal class InterNodeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No link to the peer: connect failed, or the link is backing off after failures.</summary>
internal class PeerUnavailableException(string message, Exception? inner = null) : InterNodeException(message, inner);

/// <summary>The peer answered the Hello with a refusal (another cluster, another major version).</summary>
internal sealed class HandshakeRejectedException(FrameStatus status, string message)
    : PeerUnavailableException($"handshake refused ({status}): {message}")
{
    public FrameStatus Status { get; } = status;
}

/// <summary>
/// The link dropped while the request was in flight: it may or may not have been executed by
/// the peer. The next request reconnects.
/// </summary>
internal sealed class PeerLinkClosedException(string message, Exception? inner = null) : InterNodeException(message, inner);

/// <summary>No response within the request's timeout (the peer may still execute it).</summary>
internal sealed class RequestTimeoutException(string message) : InterNodeException(message);

/// <summary>The peer answered with a non-Ok status (see <see cref="Response.ThrowIfError"/>).</summary>
internal sealed class RemoteFrameException(FrameStatus status, string message)
    : InterNodeException($"peer answered {FormatStatus(status)}: {message}")
{
    public FrameStatus Status { get; } = status;

    private static string FormatStatus(FrameStatus status) =>
        status >= FrameStatus.ApplicationBase ? $"application status 0x{(ushort)status:x}" : status.ToString();
}

/// <summary>A payload larger than the receiving peer accepts; nothing was sent.</summary>
internal sealed class FrameTooLargeException(int length, int max)
    : InterNodeException($"payload of {length} bytes exceeds the peer's maximum of {max}");
