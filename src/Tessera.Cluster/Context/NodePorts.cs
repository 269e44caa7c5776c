using System.Collections.Immutable;

namespace Tessera.Cluster.Context;

/// <summary>
/// A node's target ports as the LU context knows them: its target port group (ALUA, SPC-5 5.16; TPG id =
/// node index, as the portal group tag) and the relative target port identifiers of its ports, unique in
/// the cluster (with one portal per node: the node index too). An I_T nexus key ends in its relative
/// target port identifier (<c>…,t,0x&lt;port&gt;</c>), so these name every nexus that lived on the node.
/// </summary>
internal sealed record NodePorts(ushort TargetPortGroupId, ImmutableArray<ushort> RelativeTargetPortIds)
{
    /// <summary>One portal per node, numbered by node index: TPG = relative target port = <paramref name="nodeIndex"/>.</summary>
    public static NodePorts OfNodeIndex(ushort nodeIndex) => new(nodeIndex, [nodeIndex]);
}
