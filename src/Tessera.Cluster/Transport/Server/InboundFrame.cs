namespace Tessera.Cluster.Transport.Server;

/// <summary>
/// A request as a handler sees it. <see cref="Payload"/> is a rented buffer that goes back to
/// the pool when the handler completes: copy what must outlive the call.
/// </summary>
internal readonly struct InboundFrame(ushort messageType, ulong requestId, bool isOneWay, ReadOnlyMemory<byte> payload, string remoteNodeId)
{
    public ushort MessageType { get; } = messageType;

    public ulong RequestId { get; } = requestId;

    /// <summary>No response goes back; the handler's status and response payload are discarded.</summary>
    public bool IsOneWay { get; } = isOneWay;

    public ReadOnlyMemory<byte> Payload { get; } = payload;

    /// <summary>The sending node's id from its Hello.</summary>
    public string RemoteNodeId { get; } = remoteNodeId;
}
