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

    /// <summary>One line per test; tests from another invocation than <paramref name="mainInvocation"/> say which.</summary>
    public static string PerTest(CunitRun run, string? mainInvocation = null)
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
            if (test.Invocation is { } invocation && invocation != mainInvocation)
            {
                text.Append(" [").Append(invocation).Append(']');
            }

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
            text.Append("FAILED ").Append(test.FullName);
            if (test.Invocation is { } invocation)
            {
                text.Append(" [").Append(invocation).Append(']');
            }

            text.Append('\n');
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

    /// <summary>The invocations a run was made of: purpose, counts, time, exit, then the command lines.</summary>
    public static string Invocations(IReadOnlyList<ConformanceInvocation> invocations)
    {
        var text = new StringBuilder();
        text.Append("| invocation | purpose | passed | failed | skipped | time | result |\n|---|---|---:|---:|---:|---:|---|\n");
        foreach (var i in invocations)
        {
            text.Append("| ").Append(i.Label).Append(" | ").Append(i.Purpose)
                .Append(" | ").Append(i.Run.Count(CunitOutcome.Passed))
                .Append(" | ").Append(i.Run.Count(CunitOutcome.Failed))
                .Append(" | ").Append(i.Run.Count(CunitOutcome.Skipped))
                .Append(" | ").Append($"{i.Result.Elapsed.TotalSeconds:0} s")
                .Append(" | ").Append(i.Outcome).Append(" |\n");
        }

        text.Append("\n```\n");
        foreach (var i in invocations)
        {
            text.Append("# ").Append(i.Label).Append('\n').Append(i.Command).Append('\n');
        }

        return text.Append("```\n").ToString();
    }

    /// <summary>
    /// The whole report of a run merged from <paramref name="invocations"/> (each test once, see
    /// <see cref="CunitRun.Merge"/>); per-invocation counts count what each invocation itself saw.
    /// </summary>
    public static string Full(string title, IReadOnlyList<ConformanceInvocation> invocations, CunitRun merged) =>
        $"# {title}\n\n**{Totals(merged)}**\n\n## Invocations\n\n{Invocations(invocations)}\n## Per suite\n\n{PerSuite(merged)}\n" +
        $"## Failures\n\n```\n{(merged.Failed.Any() ? Failures(merged) : "none\n")}```\n\n" +
        $"## Per test\n\n```\n{PerTest(merged, invocations.Count > 0 ? invocations[0].Label : null)}```\n";
}
