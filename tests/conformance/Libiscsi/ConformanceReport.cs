using System.Text;

namespace Tessera.Conformance.Libiscsi;

/// <summary>Human-readable views of a run: per-test lines, a per-suite table, the failures in detail.</summary>
internal static class ConformanceReport
{
    private const int MaxAssertionsShown = 8;

    public static string Totals(CunitRun run) =>
        $"{run.Count(CunitOutcome.Passed)} passed, {run.Count(CunitOutcome.Failed)} failed, " +
        $"{run.Count(CunitOutcome.Skipped)} skipped of {run.Tests.Count}" +
        (run.Completed ? string.Empty : " (run did not complete)");

    public static string PerTest(CunitRun run)
    {
        var text = new StringBuilder();
        foreach (var test in run.Tests)
        {
            var tag = test.Outcome switch
            {
                CunitOutcome.Passed => "PASS",
                CunitOutcome.Failed => "FAIL",
                _ => "SKIP",
            };
            text.Append(tag).Append("  ").Append(test.FullName);
            var reason = test.Outcome switch
            {
                CunitOutcome.Skipped => test.Messages.FirstOrDefault(m => m.Contains("[SKIPPED]", StringComparison.Ordinal)),
                CunitOutcome.Failed => test.Messages.FirstOrDefault(m => m.Contains("[FAILED]", StringComparison.Ordinal))
                                       ?? test.FailedAssertions.FirstOrDefault(),
                _ => null,
            };
            if (reason is not null)
            {
                text.Append("  — ").Append(reason);
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Markdown table, suites in run order, with a total row.</summary>
    public static string PerSuite(CunitRun run)
    {
        var text = new StringBuilder();
        text.Append("| suite | passed | failed | skipped |\n|---|---:|---:|---:|\n");
        foreach (var suite in run.Tests.GroupBy(t => t.Suite))
        {
            Row(suite.Key, suite.ToList());
        }

        Row("**total**", run.Tests);
        return text.ToString();

        void Row(string name, IReadOnlyCollection<CunitTestResult> tests) =>
            text.Append("| ").Append(name)
                .Append(" | ").Append(tests.Count(t => t.Outcome == CunitOutcome.Passed))
                .Append(" | ").Append(tests.Count(t => t.Outcome == CunitOutcome.Failed))
                .Append(" | ").Append(tests.Count(t => t.Outcome == CunitOutcome.Skipped))
                .Append(" |\n");
    }

    /// <summary>Every failed test with what libiscsi printed and CUnit's failed assertions.</summary>
    public static string Failures(CunitRun run)
    {
        var text = new StringBuilder();
        foreach (var test in run.Failed)
        {
            text.Append("FAILED ").Append(test.FullName).Append('\n');
            foreach (var message in test.Messages)
            {
                text.Append("    ").Append(message).Append('\n');
            }

            foreach (var assertion in test.FailedAssertions.Take(MaxAssertionsShown))
            {
                text.Append("    ").Append(assertion).Append('\n');
            }

            if (test.FailedAssertions.Count > MaxAssertionsShown)
            {
                text.Append("    ... and ").Append(test.FailedAssertions.Count - MaxAssertionsShown).Append(" more failed assertions\n");
            }
        }

        return text.ToString();
    }

    public static string Full(string title, string command, CunitRun run) =>
        $"# {title}\n\n`{command}`\n\n**{Totals(run)}**\n\n## Per suite\n\n{PerSuite(run)}\n" +
        $"## Failures\n\n```\n{(run.Failed.Any() ? Failures(run) : "none\n")}```\n\n## Per test\n\n```\n{PerTest(run)}```\n";
}
