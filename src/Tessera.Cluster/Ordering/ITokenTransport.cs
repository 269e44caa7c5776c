namespace Tessera.Cluster.Ordering;

/// <summary>
/// Where a <see cref="TokenOrderingNode"/> sends its messages. The protocol assumes reliable,
/// exactly-once delivery between live nodes but NOT per-link FIFO: any reordering is safe.
/// </summary>
internal interface ITokenTransport
{
    void Send(NodeId to, in OrderingMessage message);
}
