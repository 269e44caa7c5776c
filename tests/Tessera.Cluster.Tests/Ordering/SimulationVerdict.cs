using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

/// <summary>What the checker concluded about one simulation run.</summary>
internal sealed record SimulationVerdict(List<string> DeliveryErrors, int[]? Cycle, string? CycleDescription)
{
    public bool Ok => DeliveryErrors.Count == 0 && Cycle is null;

    public static SimulationVerdict Of(SimulationResult result)
    {
        int requests = result.Owners.Length;
        int nodes = result.ApplyOrders.Length;
        int? crashed = result.CrashedNode;

        // Without a failure every submitted request is required everywhere; with one, only the
        // requests that never named the crashed node (as owner or origin), and only on survivors.
        bool[] required = new bool[requests];
        for (int r = 0; r < requests; r++)
        {
            required[r] = result.Owners[r] is not null && (crashed is not int c || !result.Involves(r, c));
        }

        bool[] mustComplete = Enumerable.Range(0, nodes).Select(n => n != crashed).ToArray();
        List<string> errors = ApplyOrderChecker.CheckDelivery(result.Owners, required, result.ApplyOrders, mustComplete);
        for (int n = 0; n < nodes; n++)
        {
            if (n != crashed && result.PendingAtEnd[n] != 0)
            {
                errors.Add($"n{n} still holds {result.PendingAtEnd[n]} requests after quiescence");
            }
        }

        int[]? cycle = ApplyOrderChecker.FindCycle(requests, result.ApplyOrders);
        string? description = cycle is null ? null : ApplyOrderChecker.DescribeCycle(cycle, result.ApplyOrders);
        return new SimulationVerdict(errors, cycle, description);
    }

    public override string ToString() =>
        Ok ? "ok" : $"delivery: [{string.Join("; ", DeliveryErrors.Take(10))}] cycle: [{CycleDescription}]";
}
