using Tessera.Cluster.Metadata.Volumes;

namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>
/// Who should take a sub-unit nobody holds, computed the same way by every node so that they do
/// not fight over it (the epoch compare-and-swap still decides when their views of the live set
/// differ). Sub-unit u of a volume over N placement nodes prefers node u mod N — the initial
/// round-robin spread, which also puts ownership back in shape after a whole-cluster restart —
/// and, when that node is not live, goes to live placement node number u mod L (L live nodes in
/// placement order), spreading a departed node's sub-units over all survivors. Only placement
/// nodes own: the owner computes parity for the stripes and needs a node index in the volume.
/// </summary>
internal static class OwnerChoice
{
    /// <param name="live">Ids of the live nodes (any order).</param>
    /// <returns>The chosen node id, or null when no placement node is live.</returns>
    public static string? Choose(VolumeRecord volume, long subUnit, IReadOnlySet<string> live)
    {
        var placement = volume.Placement;
        string preferred = placement[(int)(subUnit % placement.Count)];
        if (live.Contains(preferred))
        {
            return preferred;
        }

        int liveCount = 0;
        foreach (string node in placement)
        {
            if (live.Contains(node))
            {
                liveCount++;
            }
        }

        if (liveCount == 0)
        {
            return null;
        }

        int pick = (int)(subUnit % liveCount);
        foreach (string node in placement)
        {
            if (live.Contains(node) && pick-- == 0)
            {
                return node;
            }
        }

        return null;
    }
}
