using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>A node could not be reached (down, fenced or left the cluster).</summary>
internal sealed class NodeUnavailableException(NodeId node)
    : IOException($"node {node} is unavailable")
{
    public NodeId Node { get; } = node;
}
