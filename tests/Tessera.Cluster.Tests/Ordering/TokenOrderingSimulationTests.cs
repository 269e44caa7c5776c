using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Cluster.Ordering;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Ordering;

public sealed class TokenOrderingSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void TwoHundredSeedsOfTwoThousandRequestsAreAcyclicAndDeliveredExactlyOnce()
    {
        const int seeds = 200;
        const int requests = 2_000;
        var clock = Stopwatch.StartNew();
        long tokens = 0, finals = 0, data = 0, expectedTokens = 0, owners = 0, maxEnd = 0, multiOwner = 0;
        int maxInFlight = 0;
        double meanInFlight = 0;
        int[] nodeCounts = new int[13];
        for (int seed = 0; seed < seeds; seed++)
        {
            SimulationOptions options = OrderingSimulation.RandomOptions(seed, requests);
            SimulationResult result = OrderingSimulation.Run(options, RealNode.Factory);
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            Assert.True(verdict.Ok, $"seed {seed} ({options}): {verdict}");
            AssertMessageCounts(result);

            nodeCounts[options.NodeCount]++;
            tokens += result.TokenMessages;
            finals += result.FinalMessages;
            data += result.DataMessages;
            expectedTokens += result.ExpectedTokenMessages;
            owners += result.Owners.Sum(o => o!.Length);
            maxEnd = Math.Max(maxEnd, result.EndTime);
            maxInFlight = Math.Max(maxInFlight, result.MaxInFlight);
            meanInFlight += result.MeanInFlight / seeds;
            multiOwner += result.Owners.Count(o => o!.Length > 1);
        }

        output.WriteLine($"{seeds} seeds x {requests} requests in {clock.Elapsed.TotalSeconds:F1} s; node counts 3..12: [{string.Join(",", nodeCounts[3..])}]");
        output.WriteLine($"owner parts {owners}, token messages {tokens} (= sum(m-1) {expectedTokens}), final messages {finals}, data messages {data}");
        output.WriteLine($"tokens per request {(double)tokens / (seeds * requests):F2}, multi-owner requests {multiOwner}, longest run {maxEnd} ticks");
        output.WriteLine($"requests in flight: mean {meanInFlight:F0}, max {maxInFlight}");
        Assert.Equal(expectedTokens, tokens);
    }

    [Fact]
    public void FifoLinksAreNotNeededButAlsoWork()
    {
        for (int seed = 1_000; seed < 1_030; seed++)
        {
            SimulationOptions options = OrderingSimulation.RandomOptions(seed, 1_000, fifo: true);
            SimulationResult result = OrderingSimulation.Run(options, RealNode.Factory);
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            Assert.True(verdict.Ok, $"seed {seed}: {verdict}");
            AssertMessageCounts(result);
        }
    }

    [Fact]
    public void HighContentionOnFewNodesIsAcyclic()
    {
        // Everything submitted at once on three nodes: the densest overlap the simulation can make.
        for (int seed = 0; seed < 50; seed++)
        {
            var options = new SimulationOptions(seed, NodeCount: 3, RequestCount: 1_000, SubmitWindow: 1, SpikeProbability: 0.2);
            SimulationResult result = OrderingSimulation.Run(options, RealNode.Factory);
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            Assert.True(verdict.Ok, $"seed {seed}: {verdict}");
            AssertMessageCounts(result);
        }
    }

    [Fact]
    public void NaiveChainWithinTheSameTokenBoundProducesCyclesEvenOnFifoLinks()
    {
        // The naive variant sends exactly the same tokens (Σ(m−1)); it only lacks the overtaking rule.
        int cyclic = 0;
        string? first = null;
        for (int seed = 0; seed < 20; seed++)
        {
            SimulationOptions options = OrderingSimulation.RandomOptions(seed, 500, fifo: true);
            SimulationResult result = OrderingSimulation.Run(options, NaiveChainNode.Factory);
            Assert.Equal(result.ExpectedTokenMessages, result.TokenMessages);
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            Assert.Empty(verdict.DeliveryErrors);
            if (verdict.Cycle is not null)
            {
                cyclic++;
                first ??= $"seed {seed}: {verdict.CycleDescription}";
            }
        }

        output.WriteLine($"naive variant: {cyclic}/20 seeds cyclic; e.g. {first}");
        Assert.True(cyclic > 0, "the checker never caught the naive variant");
    }

    [Fact]
    public void PiggybackedPredecessorsStillFailInRandomRunsEvenOnFifoLinks()
    {
        int deadlocked = 0, cyclic = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            SimulationOptions options = OrderingSimulation.RandomOptions(seed, 300, fifo: true);
            SimulationResult result = OrderingSimulation.Run(options, PredecessorChainNode.NewFactory());
            Assert.True(result.TokenMessages <= result.ExpectedTokenMessages);   // fewer when tokens stay stuck
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            deadlocked += result.PendingAtEnd.Sum() > 0 ? 1 : 0;
            cyclic += verdict.Cycle is not null ? 1 : 0;
        }

        output.WriteLine($"predecessor piggyback: {deadlocked}/20 seeds deadlocked, {cyclic}/20 with a cycle among applied requests");
        Assert.True(deadlocked + cyclic > 0);
    }

    [Fact]
    public void SameSeedGivesTheSameRun()
    {
        SimulationOptions options = OrderingSimulation.RandomOptions(42, 500);
        SimulationResult a = OrderingSimulation.Run(options, RealNode.Factory);
        SimulationResult b = OrderingSimulation.Run(options, RealNode.Factory);
        Assert.Equal(a.EndTime, b.EndTime);
        for (int n = 0; n < a.ApplyOrders.Length; n++)
        {
            Assert.Equal(a.ApplyOrders[n], b.ApplyOrders[n]);
        }
    }

    [Fact]
    public void NodeCrashAbortsOnlyTheRequestsThatNameItAndNothingStaysStuck()
    {
        long aborted = 0, required = 0;
        for (int seed = 0; seed < 60; seed++)
        {
            SimulationOptions options = OrderingSimulation.RandomOptions(seed + 5_000, 1_000) with
            {
                CrashAt = 2_000 + seed * 50,
                DetectionWindow = 1 + seed * 20,
            };
            SimulationResult result = OrderingSimulation.Run(options, RealNode.Factory);
            SimulationVerdict verdict = SimulationVerdict.Of(result);
            Assert.True(verdict.Ok, $"seed {seed} crash n{result.CrashedNode}: {verdict}");
            int c = result.CrashedNode!.Value;
            for (int r = 0; r < result.Owners.Length; r++)
            {
                if (result.Owners[r] is null)
                {
                    continue;
                }

                if (result.Involves(r, c))
                {
                    aborted++;
                }
                else
                {
                    required++;
                }
            }
        }

        output.WriteLine($"crash runs: {required} requests not naming the crashed node all applied; {aborted} naming it applied at most once per survivor");
    }

    [Property(MaxTest = 150)]
    public Property AnySmallClusterIsAcyclicWithExactTokenCount() =>
        Prop.ForAll(
            (from seed in Gen.Choose(0, int.MaxValue - 1)
             from nodes in Gen.Choose(3, 12)
             from requests in Gen.Choose(1, 300)
             from fifo in Gen.Elements(false, true)
             from maxDelay in Gen.Choose(1, 300)
             from window in Gen.Choose(1, 3_000)
             select new SimulationOptions(seed, nodes, requests, fifo, maxDelay, SubmitWindow: window)).ToArbitrary(),
            options =>
            {
                SimulationResult result = OrderingSimulation.Run(options, RealNode.Factory);
                SimulationVerdict verdict = SimulationVerdict.Of(result);
                Assert.True(verdict.Ok, $"{options}: {verdict}");
                AssertMessageCounts(result);
            });

    private static void AssertMessageCounts(SimulationResult result)
    {
        long expectedData = 0;
        for (int r = 0; r < result.Owners.Length; r++)
        {
            if (result.Owners[r] is { } set)
            {
                expectedData += set.Length - (Array.IndexOf(set, result.Origins[r]) >= 0 ? 1 : 0);
            }
        }

        // m−1 tokens and m−1 finals per request, m = 1 costs nothing; data: one per owner except the origin.
        Assert.Equal(result.ExpectedTokenMessages, result.TokenMessages);
        Assert.Equal(result.ExpectedTokenMessages, result.FinalMessages);
        Assert.Equal(expectedData, result.DataMessages);
    }
}
