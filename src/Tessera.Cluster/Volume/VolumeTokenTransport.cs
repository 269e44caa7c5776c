using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Messages;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Token-ordering messages of one volume's owners across nodes: a scoped
/// <see cref="LinkTokenTransport"/> on the control links (the volume id travels after the message,
/// so each volume keeps its own ordering domain). A message to this node goes straight into its
/// mailbox; a message to a node that is out is dropped (crash-stop, as in process: survivors learn
/// of the failure through <see cref="OrderingMailbox.NodeFailed"/>).
/// </summary>
internal sealed class VolumeTokenTransport(NodeId self, Guid volume, OrderingMailbox local, PeerLinkSet links, INodeLiveness liveness,
    NetworkJitter? jitter = null) : ITokenTransport
{
    private readonly LinkTokenTransport _links = new(links.Control, volume);
    private long _sent;

    /// <summary>Messages sent, to this node included (tests count tokens and finals per request).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public void Send(NodeId to, in OrderingMessage message)
    {
        Interlocked.Increment(ref _sent);
        if (!liveness.IsUp(to))
        {
            return;
        }

        if (to == self)
        {
            local.Deliver(message);
        }
        else if (jitter is null)
        {
            _links.Send(to, message);
        }
        else
        {
            _ = SendLaterAsync(to, message);
        }
    }

    private async Task SendLaterAsync(NodeId to, OrderingMessage message)
    {
        await jitter!.DelayAsync().ConfigureAwait(false);
        _links.Send(to, message);
    }
}
