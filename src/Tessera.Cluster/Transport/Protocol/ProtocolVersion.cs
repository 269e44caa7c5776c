namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// The inter-node protocol version (docs/inter-node-protocol.md §6). Peers talk only within one
/// major version; a minor version adds optional behaviour a sender uses only after the handshake
/// shows the peer knows it, so the link runs at the smaller of the two minors.
/// </summary>
internal static class ProtocolVersion
{
    public const byte Major = 1;

    public const byte Minor = 0;
}
