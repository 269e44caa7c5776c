namespace Tessera.Cluster.Volume;

/// <summary>How the nodes of an <see cref="InProcessCluster"/> talk to each other.</summary>
internal enum InProcessTransport
{
    /// <summary>Direct calls between the nodes' objects (the fast default).</summary>
    Direct,

    /// <summary>
    /// The inter-node protocol over 127.0.0.1 TCP: every node is a <see cref="NodeVolumeHost"/> with
    /// its own listener and links, exactly as in a multi-process cluster.
    /// </summary>
    Tcp,
}
