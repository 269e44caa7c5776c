using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

public sealed class TokenOrderingNodeTests
{
    private const int A = 0, B = 1, C = 2, D = 3;

    private static TokenOrderingNode Node(ManualNetwork net, int i) => ((RealNode)net.Nodes[i]).Node;

    [Fact]
    public void SingleOwnerRequestAppliesAtOnceWithoutMessages()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        net.Submit(B, 7, B);
        Assert.Equal([7], net.Applied[B]);
        Assert.Equal(0, net.Sent);
        Assert.Equal(0, Node(net, B).PendingCount);
    }

    [Fact]
    public void TwoOwnersUseOneTokenAndOneFinal()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        net.Submit(A, 1, A, C);
        net.DeliverAll(OrderingMessageKind.Data);
        Assert.Empty(net.Applied[A]);

        net.Deliver(OrderingMessageKind.Token, 1, to: C);
        Assert.Equal([1], net.Applied[C]);
        Assert.Empty(net.Applied[A]);

        net.Deliver(OrderingMessageKind.Final, 1, to: A);
        Assert.Equal([1], net.Applied[A]);
        Assert.Equal(1, Node(net, A).TokensSent);
        Assert.Equal(1, Node(net, C).FinalsSent);
        Assert.Equal(1, Node(net, A).DataSent);
        Assert.Empty(net.Pending);
    }

    [Fact]
    public void TokenBeforeDataPlacesButWaitsForTheData()
    {
        // Origin D is no owner: the data to B is still in flight when the token reaches it.
        var net = new ManualNetwork(4, RealNode.Factory);
        net.Submit(D, 5, A, B);
        net.Deliver(OrderingMessageKind.Data, 5, to: A);
        net.Deliver(OrderingMessageKind.Token, 5, to: B);
        Assert.Empty(net.Applied[B]);
        Assert.Equal(1, Node(net, B).PendingCount);

        net.Deliver(OrderingMessageKind.Data, 5, to: B);
        Assert.Equal([5], net.Applied[B]);
        net.Drain();
        Assert.Equal([5], net.Applied[A]);
        Assert.Equal(2, Node(net, D).DataSent);
    }

    [Fact]
    public void FinalBeforeDataWaitsForTheData()
    {
        var net = new ManualNetwork(4, RealNode.Factory);
        net.Submit(D, 5, A, B, C);
        net.Deliver(OrderingMessageKind.Data, 5, to: A);
        net.Deliver(OrderingMessageKind.Data, 5, to: C);
        net.Deliver(OrderingMessageKind.Token, 5, to: B);
        net.Deliver(OrderingMessageKind.Token, 5, to: C);
        net.Deliver(OrderingMessageKind.Final, 5, to: B);
        Assert.Empty(net.Applied[B]);
        net.Deliver(OrderingMessageKind.Data, 5, to: B);
        Assert.Equal([5], net.Applied[B]);
    }

    [Fact]
    public void PendingHeadHoldsBackLaterFinalRequests()
    {
        // B places R1 (token from A) then generates R2 locally (m = 1, final at once, ts above R1's).
        var net = new ManualNetwork(3, RealNode.Factory);
        net.Submit(A, 1, A, B, C);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 1, to: B);
        net.Submit(B, 2, B);
        Assert.Empty(net.Applied[B]);

        net.Drain();
        Assert.Equal([1, 2], net.Applied[B]);
    }

    [Fact]
    public void ClockNeverGoesBackAndPlacementsExceedIt()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        for (int r = 0; r < 20; r++)
        {
            net.Submit(r % 3, r, A, B, C);
        }

        long last = 0;
        while (net.Pending.Count > 0)
        {
            net.Drain();
            long clock = Node(net, C).Clock;
            Assert.True(clock >= last);
            last = clock;
        }

        Assert.Null(net.FindCycle(20));
        Assert.Equal(net.Applied[A], net.Applied[B]);
        Assert.Equal(net.Applied[A], net.Applied[C]);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 2, 1 })]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 0, 2, 2 })]
    public void OwnerSetMustBeNonEmptyAndStrictlyIncreasing(int[] owners)
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        Assert.Throws<ArgumentException>(() => Node(net, A).Submit(new RequestId(1), ManualNetwork.Set(owners)));
        Assert.Equal(0, net.Sent);
    }

    [Fact]
    public void SubmittingTheSameRequestTwiceIsRejected()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        net.Submit(A, 1, A, B);
        Assert.Throws<InvalidOperationException>(() => Node(net, A).Submit(new RequestId(1), ManualNetwork.Set(A, B)));
    }

    [Fact]
    public void MessagesThatBreakTheProtocolAreRejected()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        TokenOrderingNode b = Node(net, B);
        NodeId[] set = ManualNetwork.Set(A, C);
        Assert.Throws<InvalidDataException>(() => b.OnMessage(OrderingMessage.Data(new RequestId(1), new NodeId(A), set)));
        Assert.Throws<InvalidDataException>(() => b.OnMessage(OrderingMessage.Final(new RequestId(2), 5)));

        // A token to the first owner, or a second token, cannot happen.
        NodeId[] ab = ManualNetwork.Set(A, B);
        Assert.Throws<InvalidDataException>(() => Node(net, A).OnMessage(OrderingMessage.Token(new RequestId(3), new NodeId(A), ab, 1)));
        b.OnMessage(OrderingMessage.Token(new RequestId(4), new NodeId(A), ab, 1));
        Assert.Throws<InvalidDataException>(() => b.OnMessage(OrderingMessage.Token(new RequestId(4), new NodeId(A), ab, 1)));
    }

    [Fact]
    public void FinalBelowTheProposalIsRejected()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        TokenOrderingNode b = Node(net, B);
        NodeId[] set = ManualNetwork.Set(B, C);
        b.Submit(new RequestId(1), set);
        long proposal = b.Clock;
        Assert.Throws<InvalidDataException>(() => b.OnMessage(OrderingMessage.Final(new RequestId(1), proposal - 1)));
    }

    [Fact]
    public void AbortOfThePendingHeadReleasesTheRequestsBehindIt()
    {
        var net = new ManualNetwork(3, RealNode.Factory);
        net.Submit(A, 1, A, B);
        net.Submit(A, 2, A);
        Assert.Empty(net.Applied[A]);

        Assert.True(Node(net, A).Abort(new RequestId(1)));
        Assert.Equal([2], net.Applied[A]);
        // B has not heard of R1 yet: nothing to remove, but its data and token will be dropped.
        Assert.False(Node(net, B).Abort(new RequestId(1)));

        // Late messages of the aborted request are dropped, not forwarded.
        net.Drain();
        Assert.Empty(net.Applied[B]);
        Assert.Equal(0, Node(net, B).PendingCount);
        Assert.Equal(0, Node(net, B).FinalsSent);
        Assert.False(Node(net, C).Abort(new RequestId(99)));
    }

    [Fact]
    public void NodeFailureAbortsTheRequestsNamingItAndDropsTheirLateMessages()
    {
        var net = new ManualNetwork(4, RealNode.Factory);
        net.Submit(A, 1, A, C, D);   // names D
        net.Submit(A, 2, A, B);      // does not
        net.Submit(D, 3, A, B);      // D is its origin
        net.Deliver(OrderingMessageKind.Data, 3, to: A);
        Assert.Empty(net.Applied[A]);

        var aborted = new List<RequestId>();
        Assert.Equal(2, Node(net, A).OnNodeFailed(new NodeId(D), aborted));
        Assert.Equal([new RequestId(1), new RequestId(3)], aborted.Order());
        Assert.Equal(0, Node(net, A).OnNodeFailed(new NodeId(D)));
        foreach (int n in new[] { B, C })
        {
            Node(net, n).OnNodeFailed(new NodeId(D));
        }

        net.Drain();
        Assert.Equal([2], net.Applied[A]);
        Assert.Equal([2], net.Applied[B]);
        Assert.Empty(net.Applied[C]);
        Assert.Equal(0, Node(net, A).PendingCount + Node(net, B).PendingCount + Node(net, C).PendingCount);

        // New requests naming the failed node are refused until it rejoins.
        Assert.False(Node(net, A).Submit(new RequestId(10), ManualNetwork.Set(A, D)));
        Node(net, A).OnNodeRejoined(new NodeId(D));
        Assert.True(Node(net, A).Submit(new RequestId(10), ManualNetwork.Set(A, D)));
    }

    [Fact]
    public void NodeFailureKeepsAFinalPartThatHasItsDataAndAbortsTheOthers()
    {
        // At A: R1 on {A,B} pending at the head; R2 on {A,D} final behind it; R4 on {A,D} placed, its Final in flight.
        var net = new ManualNetwork(4, RealNode.Factory);
        net.Submit(A, 1, A, B);
        net.Submit(A, 2, A, D);
        net.Submit(A, 4, A, D);
        net.DeliverAll(OrderingMessageKind.Data);
        net.Deliver(OrderingMessageKind.Token, 2, to: D);
        net.Deliver(OrderingMessageKind.Token, 4, to: D);
        net.Deliver(OrderingMessageKind.Final, 2, to: A);
        Assert.Empty(net.Applied[A]);

        var aborted = new List<RequestId>();
        Assert.Equal(1, Node(net, A).OnNodeFailed(new NodeId(D), aborted));
        Assert.Equal([new RequestId(4)], aborted);

        // R2's global place is fixed, so applying it cannot contradict any other node.
        net.Drain();
        Assert.Equal([1, 2], net.Applied[A]);
        Assert.Equal([1], net.Applied[B]);
        Assert.Equal(0, Node(net, A).PendingCount);
        Assert.Equal(1, Node(net, A).AbortedCount);
    }

    [Fact]
    public void RequestIdsCarryTheirOrigin()
    {
        Assert.NotEqual(RequestId.Create(new NodeId(1), 5), RequestId.Create(new NodeId(2), 5));
        Assert.True(RequestId.Create(new NodeId(1), 5).CompareTo(RequestId.Create(new NodeId(1), 6)) < 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => RequestId.Create(new NodeId(1), 1UL << 40));
        Assert.Throws<ArgumentOutOfRangeException>(() => RequestId.Create(new NodeId(-1), 0));
    }
}
