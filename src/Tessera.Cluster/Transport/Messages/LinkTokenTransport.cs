using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Client;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// <see cref="ITokenTransport"/> over inter-node links: each message is one one-way frame, posted
/// without waiting (the ordering node calls Send under its own lock). The protocol needs reliable
/// delivery between live nodes, not FIFO; a link that cannot deliver is the membership layer's
/// business (PeerLink.PostFailures, then TokenOrderingNode.OnNodeFailed). With a
/// <paramref name="scope"/> (one ordering domain per volume) every frame carries it after the
/// message (<see cref="OrderingFrames.WriteScoped"/>) and <see cref="OrderingFrameHandler.Scoped"/> routes on it.
/// </summary>
internal sealed class LinkTokenTransport(Func<NodeId, PeerLink> linkTo, Guid? scope = null) : ITokenTransport
{
    public void Send(NodeId to, in OrderingMessage message)
    {
        if (scope is { } domain)
        {
            linkTo(to).Post(OrderingFrames.MessageTypeOf(message.Kind), (message, domain), OrderingFrames.ScopedWriter);
        }
        else
        {
            linkTo(to).Post(OrderingFrames.MessageTypeOf(message.Kind), message, OrderingFrames.Writer);
        }
    }
}
