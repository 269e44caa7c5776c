namespace Tessera.Conformance.Harness;

/// <summary>
/// Picks the target the integration tests run against: Tessera by default, or tgt with
/// <c>TESSERA_CONFORMANCE_TARGET=tgt</c> (to check the harness itself, or get reference figures).
/// </summary>
internal static class TargetHosts
{
    public const string SelectVariable = "TESSERA_CONFORMANCE_TARGET";

    public static ITargetHost Create(long lunSizeBytes = Sizes.GiB) =>
        (Environment.GetEnvironmentVariable(SelectVariable) ?? "tessera").Trim().ToLowerInvariant() switch
        {
            "tessera" or "" => new TesseraNodeHost(lunSizeBytes),
            "tgt" => new TgtHost(lunSizeBytes),
            var other => throw new InvalidOperationException($"{SelectVariable}={other}: expected tessera or tgt"),
        };

    /// <summary>
    /// Runs <paramref name="body"/>; if it throws, the target's own output goes to the test log
    /// first (the last lines — a node can be chatty), since that is usually where the cause is.
    /// </summary>
    public static async Task WithTargetLogOnFailureAsync(ITargetHost host, ITestOutputHelper output, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch
        {
            var lines = host.Log.Split('\n');
            const int keep = 400;
            output.WriteLine($"---- {host.Name} output{(lines.Length > keep ? $" (last {keep} of {lines.Length} lines)" : string.Empty)} ----");
            foreach (var line in lines.Skip(Math.Max(0, lines.Length - keep)))
            {
                output.WriteLine(line);
            }

            throw;
        }
    }
}
