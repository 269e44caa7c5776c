using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport;

/// <summary>Settings of one node's inter-node transport, shared by its listener and its outbound links.</summary>
internal sealed class InterNodeOptions
{
    /// <summary>Links between nodes of different clusters are refused in the handshake.</summary>
    public required Guid ClusterId { get; init; }

    /// <summary>This node's id as the metadata store knows it (1-255 UTF-8 bytes).</summary>
    public required string NodeId { get; init; }

    /// <summary>Largest payload this node accepts in one frame; a bigger frame closes the link. Default 8 MiB.</summary>
    public int MaxPayloadLength { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Requests in flight per link. Outbound: a sender waits while this many are unanswered.
    /// Inbound: handlers running per link, advertised in the Hello so the peer's window is at most this.
    /// </summary>
    public int MaxInFlight { get; init; } = 64;

    /// <summary>Default time from a request being issued to its response, waits for the window included.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long either side waits for the peer's Hello.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Wait after the first failed connect before the next attempt; doubles per failure up to <see cref="ReconnectBackoffMax"/>.</summary>
    public TimeSpan ReconnectBackoffMin { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes written to a link but not yet sent beyond which one-way senders wait (requests are bounded by the window).</summary>
    public long MaxQueuedBytes { get; init; } = 16 * 1024 * 1024;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(NodeId);
        if (System.Text.Encoding.UTF8.GetByteCount(NodeId) > Hello.MaxNodeIdBytes)
        {
            throw new ArgumentException($"node id longer than {Hello.MaxNodeIdBytes} UTF-8 bytes");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPayloadLength, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandshakeTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedBytes, MaxPayloadLength);
    }
}
