using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Which nodes are in the cluster right now (membership by lease in the metadata store later).
/// An owner plans each stripe operation from it: a column on a node that is out is neither read
/// nor written, and parity stands in for it.
/// </summary>
internal interface INodeLiveness
{
    bool IsUp(NodeId node);
}
