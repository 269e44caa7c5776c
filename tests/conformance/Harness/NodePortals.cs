namespace Tessera.Conformance.Harness;

/// <summary>Clusters under test give node i the portal 127.0.0.1:(first port + i − 1).</summary>
internal static class NodePortals
{
    /// <summary><paramref name="url"/> (on node 1's portal, <paramref name="firstPort"/>) as served through node <paramref name="nodeNumber"/>'s portal.</summary>
    public static string ThroughNode(string url, int firstPort, int nodes, int nodeNumber)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeNumber, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodeNumber, nodes);
        string first = $"127.0.0.1:{firstPort}/";
        if (!url.Contains(first, StringComparison.Ordinal))
        {
            throw new ArgumentException($"{url} is not on node 1's portal {first}", nameof(url));
        }

        return url.Replace(first, $"127.0.0.1:{firstPort + nodeNumber - 1}/", StringComparison.Ordinal);
    }
}
