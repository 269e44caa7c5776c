using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

public sealed class ApplyOrderCheckerTests
{
    /// <summary>Per-node orders cut from one global permutation, each node keeping a random subset.</summary>
    private static Gen<(int Requests, List<int>[] Orders)> ConsistentOrders() =>
        from requests in Gen.Choose(2, 60)
        from nodes in Gen.Choose(2, 8)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        select Build(requests, nodes, seed);

    private static (int, List<int>[]) Build(int requests, int nodes, int seed)
    {
        var random = new Random(seed);
        int[] global = Enumerable.Range(0, requests).OrderBy(_ => random.Next()).ToArray();
        var orders = new List<int>[nodes];
        for (int n = 0; n < nodes; n++)
        {
            orders[n] = global.Where(_ => random.Next(2) == 0).ToList();
        }

        return (requests, orders);
    }

    [Property(MaxTest = 300)]
    public Property OrdersFromOneGlobalOrderHaveNoCycle() =>
        Prop.ForAll(ConsistentOrders().ToArbitrary(), c => Assert.Null(ApplyOrderChecker.FindCycle(c.Requests, c.Orders)));

    [Property(MaxTest = 300)]
    public Property ReversingOnePairOnOneNodeIsCaughtWithAWitnessedCycle() =>
        Prop.ForAll(ConsistentOrders().ToArbitrary(), Gen.Choose(0, int.MaxValue - 1).ToArbitrary(), (c, pick) =>
        {
            // Swap one adjacent pair on one node and add a node that keeps the pair in the global order.
            List<int> order = c.Orders.Where(o => o.Count >= 2).DefaultIfEmpty(c.Orders[0]).First();
            if (order.Count < 2)
            {
                order.AddRange(Enumerable.Range(0, 2).Except(order));
                order.Sort();
            }

            int i = pick % (order.Count - 1);
            var orders = c.Orders.Append([order[i], order[i + 1]]).ToList();
            (order[i], order[i + 1]) = (order[i + 1], order[i]);
            int[]? cycle = ApplyOrderChecker.FindCycle(c.Requests, orders);
            Assert.NotNull(cycle);
            var before = orders.SelectMany(AllPairs).ToHashSet();
            for (int k = 0; k < cycle.Length; k++)
            {
                Assert.Contains((cycle[k], cycle[(k + 1) % cycle.Length]), before);
            }
        });

    [Fact]
    public void ThreeNodeTriangleIsACycle()
    {
        // r0 < r1 on n0, r1 < r2 on n1, r2 < r0 on n2: no two nodes disagree on a pair, yet no serial order exists.
        List<int>[] orders = [[0, 1], [1, 2], [2, 0]];
        int[]? cycle = ApplyOrderChecker.FindCycle(3, orders);
        Assert.NotNull(cycle);
        Assert.Equal(3, cycle.Length);
        Assert.Contains("r2 < r0 on n2", ApplyOrderChecker.DescribeCycle(cycle, orders));
    }

    [Fact]
    public void DeliveryErrorsAreReported()
    {
        NodeId[]?[] owners = [ManualNetwork.Set(0, 1), ManualNetwork.Set(1), null];
        bool[] required = [true, true, false];
        List<int>[] orders = [[0, 1], [1, 1]];
        List<string> errors = ApplyOrderChecker.CheckDelivery(owners, required, orders);
        Assert.Contains("r0 never applied on owner n1", errors);
        Assert.Contains("r1 applied on non-owner n0", errors);
        Assert.Contains("r1 applied 2 times on n1", errors);
        Assert.Equal(3, errors.Count);
    }

    private static IEnumerable<(int, int)> AllPairs(List<int> order)
    {
        for (int i = 0; i < order.Count; i++)
        {
            for (int j = i + 1; j < order.Count; j++)
            {
                yield return (order[i], order[j]);
            }
        }
    }
}
