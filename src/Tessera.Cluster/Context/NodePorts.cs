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

    /// <summary>The ports of a node whose id is its number 1..N (`tessera up`, `tessera node`); null for any other id.</summary>
    public static NodePorts? OfNumberedNode(string nodeId) =>
        int.TryParse(nodeId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n is > 0 and <= ushort.MaxValue
            ? OfNodeIndex((ushort)n) : null;

    /// <summary>A fresh LU's context in a cluster of nodes 1..<paramref name="nodes"/>: every node's target port group listed, active/optimized.</summary>
    public static Tessera.Scsi.LuState InitialContext(int nodes)
    {
        var alua = Tessera.Scsi.AluaState.Default;
        for (int i = 1; i <= nodes; i++)
        {
            var ports = OfNodeIndex((ushort)i);
            alua = alua.WithGroup(ports.TargetPortGroupId, ports.RelativeTargetPortIds);
        }

        return Tessera.Scsi.LuState.Initial with { Alua = alua };
    }
}
