using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Token-ordering messages between the owners of one volume in one process: delivered into the
/// target's mailbox on the sender's thread. Messages to a node that is out are dropped (crash-stop);
/// survivors learn of it through <see cref="OrderingMailbox.NodeFailed"/>.
/// </summary>
internal sealed class InProcessTokenTransport(IReadOnlyList<OrderingMailbox> mailboxes, INodeLiveness liveness, NetworkJitter? jitter = null) : ITokenTransport
{
    private long _sent;

    public long Sent => Interlocked.Read(ref _sent);

    public void Send(NodeId to, in OrderingMessage message)
    {
        Interlocked.Increment(ref _sent);
        if (jitter is not null)
        {
            _ = DeliverLaterAsync(to, message);
            return;
        }

        if (liveness.IsUp(to))
        {
            mailboxes[to.Value].Deliver(message);
        }
    }

    private async Task DeliverLaterAsync(NodeId to, OrderingMessage message)
    {
        await jitter!.DelayAsync().ConfigureAwait(false);
        if (liveness.IsUp(to))
        {
            mailboxes[to.Value].Deliver(message);
        }
    }
}
