namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// A parsed iscsi-test-cu run. <see cref="Completed"/> is false when CUnit never printed its
/// run summary — the tool crashed, hung or was killed — and the last test then counts as failed.
/// </summary>
internal sealed record CunitRun(IReadOnlyList<CunitTestResult> Tests, bool Completed, string? Preamble)
{
    public int Count(CunitOutcome outcome) => Tests.Count(t => t.Outcome == outcome);

    public IEnumerable<CunitTestResult> Failed => Tests.Where(t => t.Outcome == CunitOutcome.Failed);

    /// <summary>
    /// One run from several invocations against the same target: each test once, in
    /// <paramref name="order"/> (the <c>--list</c> order; tests it lacks go last), tagged with its
    /// invocation. A test that ran in more than one keeps its worst real outcome — failed over passed
    /// over skipped — so a skip elsewhere never hides a pass and nothing hides a failure.
    /// </summary>
    public static CunitRun Merge(IReadOnlyList<LibiscsiTestName> order, IEnumerable<(string Label, CunitRun Run)> invocations)
    {
        var position = new Dictionary<string, int>();
        foreach (var test in order)
        {
            position.TryAdd(test.SuiteTest, position.Count);
        }

        var chosen = new Dictionary<string, CunitTestResult>();
        var arrival = new List<string>();
        var completed = true;
        string? preamble = null;
        foreach (var (label, run) in invocations)
        {
            completed &= run.Completed;
            preamble ??= run.Preamble;
            foreach (var test in run.Tests)
            {
                var tagged = test with { Invocation = label };
                if (!chosen.TryGetValue(test.FullName, out var earlier))
                {
                    arrival.Add(test.FullName);
                    chosen[test.FullName] = tagged;
                }
                else if (Rank(test.Outcome) > Rank(earlier.Outcome))
                {
                    chosen[test.FullName] = tagged;
                }
            }
        }

        var tests = arrival
            .Select((name, index) => (name, index))
            .OrderBy(x => position.TryGetValue(x.name, out var p) ? p : int.MaxValue)
            .ThenBy(x => x.index)
            .Select(x => chosen[x.name])
            .ToList();
        return new CunitRun(tests, completed, preamble);

        static int Rank(CunitOutcome outcome) => outcome switch
        {
            CunitOutcome.Failed => 2,
            CunitOutcome.Passed => 1,
            _ => 0,
        };
    }
}
