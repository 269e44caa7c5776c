using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>A node could not be reached (down, fenced or left the cluster).</summary>
internal sealed class NodeUnavailableException(NodeId node, Exception? inner = null)
    : IOException(inner is null ? $"node {node} is unavailable" : $"node {node} is unavailable: {inner.Message}", inner)
{
    public NodeId Node { get; } = node;
}
