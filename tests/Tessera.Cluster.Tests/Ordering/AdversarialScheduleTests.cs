using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>
/// The two schedules of docs/token-ordering.md, scripted message by message, run against the real
/// node and against the naive chain.
/// </summary>
public sealed class AdversarialScheduleTests
{
    private const int A = 0, B = 1, C = 2, D = 3;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TokenThatSkipsANodeCannotOvertakeOnALaterNode(bool naive)
    {
        // R1 on {A,B,C}, R3 on {A,C}; A places R1 first, R3's direct token reaches C before R1's via B.
        var net = new ManualNetwork(3, naive ? NaiveChainNode.Factory : RealNode.Factory);
        net.Submit(A, 1, A, B, C);
        net.Submit(A, 3, A, C);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 3, to: C);
        net.Deliver(OrderingMessageKind.Token, 1, to: B);
        net.Deliver(OrderingMessageKind.Token, 1, to: C);
        net.Drain();

        if (naive)
        {
            Assert.Equal([1, 3], net.Applied[A]);
            Assert.Equal([3, 1], net.Applied[C]);
            Assert.NotNull(net.FindCycle(4));
        }
        else
        {
            // C fixed R3 first, so R1's final stamp exceeds R3's and A follows it, not its own placement order.
            Assert.Equal([3, 1], net.Applied[A]);
            Assert.Equal([1], net.Applied[B]);
            Assert.Equal([3, 1], net.Applied[C]);
            Assert.Null(net.FindCycle(4));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ThreeRequestsThatMeetOnlyPairwiseBeforeTheLastNode(bool naive)
    {
        // R1 {A,B,D}, R2 {B,C,D}, R3 {A,C,D}: each pair first meets at a different node. With a chain
        // alone A must apply R1 before R3 exists, B R2 before R1 arrives, C R3 before R2 arrives — then
        // no order at D agrees with all three. The real node makes A, B and C wait for D's Final.
        var net = new ManualNetwork(4, naive ? NaiveChainNode.Factory : RealNode.Factory);
        net.Submit(A, 1, A, B, D);
        net.Submit(A, 3, A, C, D);
        net.Submit(B, 2, B, C, D);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 3, to: C);
        net.Deliver(OrderingMessageKind.Token, 1, to: B);
        net.Deliver(OrderingMessageKind.Token, 2, to: C);

        if (naive)
        {
            Assert.Equal([1, 3], net.Applied[A]);
            Assert.Equal([2, 1], net.Applied[B]);
            Assert.Equal([3, 2], net.Applied[C]);
        }
        else
        {
            Assert.Empty(net.Applied[A]);
            Assert.Empty(net.Applied[B]);
            Assert.Empty(net.Applied[C]);
        }

        net.Drain();
        if (naive)
        {
            Assert.NotNull(net.FindCycle(4));
        }
        else
        {
            Assert.Null(net.FindCycle(4));
            Assert.Equal(3, net.Applied[D].Count);
            Assert.Equal(net.Applied[D].Where(r => r != 2), net.Applied[A]);
            Assert.Equal(net.Applied[D].Where(r => r != 3), net.Applied[B]);
            Assert.Equal(net.Applied[D].Where(r => r != 1), net.Applied[C]);
        }
    }

    [Fact]
    public void PiggybackingPredecessorsDeadlocksOnTheTriangle()
    {
        // The same schedule against the chain that carries "placed before me at earlier nodes" constraints:
        // A, B and C still apply before D has spoken, and D can satisfy none of R1, R2, R3 first.
        var net = new ManualNetwork(4, PredecessorChainNode.NewFactory());
        net.Submit(A, 1, A, B, D);
        net.Submit(A, 3, A, C, D);
        net.Submit(B, 2, B, C, D);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 3, to: C);
        net.Deliver(OrderingMessageKind.Token, 1, to: B);
        net.Deliver(OrderingMessageKind.Token, 2, to: C);
        net.Drain();

        Assert.Equal([1, 3], net.Applied[A]);
        Assert.Equal([2, 1], net.Applied[B]);
        Assert.Equal([3, 2], net.Applied[C]);
        Assert.Empty(net.Applied[D]);
        Assert.Equal(3, net.Nodes[D].PendingCount);
    }

    [Fact]
    public void PiggybackingPredecessorsStopsTheSkipOvertake()
    {
        // It does fix §3.1 — the failure above is not a bug of the variant but of any chain-only scheme.
        var net = new ManualNetwork(3, PredecessorChainNode.NewFactory());
        net.Submit(A, 1, A, B, C);
        net.Submit(A, 3, A, C);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 3, to: C);
        net.Deliver(OrderingMessageKind.Token, 1, to: B);
        net.Deliver(OrderingMessageKind.Token, 1, to: C);
        net.Drain();
        Assert.Equal([1, 3], net.Applied[A]);
        Assert.Equal([1, 3], net.Applied[C]);
    }
}
