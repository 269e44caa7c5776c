namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// A violation after which the byte stream cannot be trusted: the link answers with an Error
/// frame carrying <see cref="Status"/> (unless <see cref="NotifyPeer"/> is false, e.g. the peer
/// already said goodbye) and closes. Only that link; the node goes on serving others.
/// </summary>
internal sealed class FrameProtocolException(FrameStatus status, string message, bool notifyPeer = true) : Exception(message)
{
    public FrameStatus Status { get; } = status;

    public bool NotifyPeer { get; } = notifyPeer;
}
