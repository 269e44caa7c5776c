using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>
/// Checks per-node apply orders after a run: delivery (each request applied exactly once on each
/// of its owners, nowhere else) and acyclicity of the union of all nodes' apply orders.
/// </summary>
internal static class ApplyOrderChecker
{
    /// <summary>
    /// Returns a cycle r₀ → r₁ → … → r₀ of the union graph (rᵢ applied before rᵢ₊₁ on some node),
    /// or null when the union is acyclic. Each node's order is total, so the edges between
    /// consecutive applies per node have the same transitive closure as the full order: Kahn's
    /// topological sort over Σ(len−1) edges decides it in linear time.
    /// </summary>
    public static int[]? FindCycle(int requestCount, IReadOnlyList<IReadOnlyList<int>> orders)
    {
        int edgeCount = 0;
        foreach (IReadOnlyList<int> order in orders)
        {
            edgeCount += Math.Max(0, order.Count - 1);
        }

        // Compressed adjacency, forward and backward.
        int[] outStart = new int[requestCount + 1];
        int[] inStart = new int[requestCount + 1];
        foreach (IReadOnlyList<int> order in orders)
        {
            for (int i = 1; i < order.Count; i++)
            {
                outStart[order[i - 1] + 1]++;
                inStart[order[i] + 1]++;
            }
        }

        for (int v = 0; v < requestCount; v++)
        {
            outStart[v + 1] += outStart[v];
            inStart[v + 1] += inStart[v];
        }

        int[] outEdges = new int[edgeCount];
        int[] inEdges = new int[edgeCount];
        int[] outFill = (int[])outStart.Clone();
        int[] inFill = (int[])inStart.Clone();
        foreach (IReadOnlyList<int> order in orders)
        {
            for (int i = 1; i < order.Count; i++)
            {
                outEdges[outFill[order[i - 1]]++] = order[i];
                inEdges[inFill[order[i]]++] = order[i - 1];
            }
        }

        int[] inDegree = new int[requestCount];
        for (int v = 0; v < requestCount; v++)
        {
            inDegree[v] = inStart[v + 1] - inStart[v];
        }

        var ready = new Queue<int>();
        for (int v = 0; v < requestCount; v++)
        {
            if (inDegree[v] == 0)
            {
                ready.Enqueue(v);
            }
        }

        int processed = 0;
        while (ready.TryDequeue(out int v))
        {
            processed++;
            for (int e = outStart[v]; e < outStart[v + 1]; e++)
            {
                if (--inDegree[outEdges[e]] == 0)
                {
                    ready.Enqueue(outEdges[e]);
                }
            }
        }

        if (processed == requestCount)
        {
            return null;
        }

        // Every vertex left has a predecessor that is also left: walking backwards must repeat.
        int start = Array.FindIndex(inDegree, d => d > 0);
        var position = new Dictionary<int, int>();
        var path = new List<int>();
        int current = start;
        while (!position.ContainsKey(current))
        {
            position[current] = path.Count;
            path.Add(current);
            int previous = -1;
            for (int e = inStart[current]; e < inStart[current + 1]; e++)
            {
                if (inDegree[inEdges[e]] > 0)
                {
                    previous = inEdges[e];
                    break;
                }
            }

            current = previous;
        }

        int[] cycle = path.Skip(position[current]).Reverse().ToArray();
        return cycle;
    }

    /// <summary>Describes each edge of a cycle with a node that witnesses it.</summary>
    public static string DescribeCycle(int[] cycle, IReadOnlyList<IReadOnlyList<int>> orders)
    {
        var parts = new List<string>();
        for (int i = 0; i < cycle.Length; i++)
        {
            int a = cycle[i];
            int b = cycle[(i + 1) % cycle.Length];
            int witness = -1;
            for (int n = 0; n < orders.Count && witness < 0; n++)
            {
                int ia = IndexOf(orders[n], a);
                int ib = IndexOf(orders[n], b);
                if (ia >= 0 && ib >= 0 && ia < ib)
                {
                    witness = n;
                }
            }

            parts.Add($"r{a} < r{b} on n{witness}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>
    /// Delivery errors: a required request (owner set in <paramref name="required"/>) must be applied
    /// exactly once on each owner; an optional one (e.g. aborted by a node failure) at most once;
    /// nothing may be applied on a non-owner or twice.
    /// </summary>
    public static List<string> CheckDelivery(
        IReadOnlyList<NodeId[]?> owners,
        IReadOnlyList<bool> required,
        IReadOnlyList<IReadOnlyList<int>> orders,
        IReadOnlyList<bool>? nodeMustComplete = null,
        int maxErrors = 20)
    {
        var errors = new List<string>();
        int requestCount = owners.Count;
        int nodeCount = orders.Count;
        var count = new int[nodeCount, requestCount];
        for (int n = 0; n < nodeCount; n++)
        {
            foreach (int r in orders[n])
            {
                count[n, r]++;
            }
        }

        for (int r = 0; r < requestCount && errors.Count < maxErrors; r++)
        {
            NodeId[]? set = owners[r];
            for (int n = 0; n < nodeCount; n++)
            {
                bool owner = set is not null && Array.IndexOf(set, new NodeId(n)) >= 0;
                int c = count[n, r];
                if (!owner && c > 0)
                {
                    errors.Add($"r{r} applied on non-owner n{n}");
                }
                else if (c > 1)
                {
                    errors.Add($"r{r} applied {c} times on n{n}");
                }
                else if (owner && c == 0 && required[r] && (nodeMustComplete is null || nodeMustComplete[n]))
                {
                    errors.Add($"r{r} never applied on owner n{n}");
                }
            }
        }

        return errors;
    }

    private static int IndexOf(IReadOnlyList<int> list, int value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }
}
