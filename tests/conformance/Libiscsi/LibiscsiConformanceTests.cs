using Tessera.Conformance.Harness;

namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// libiscsi's iscsi-test-cu against a freshly started target. Prints the per-test summary and
/// the per-suite table, keeps the raw log and a markdown report under
/// <see cref="ConformanceSettings.ReportsDirectory"/>, and fails listing every failed test.
/// </summary>
public sealed class LibiscsiConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Full_suite_over_two_sessions_to_one_LU_has_no_failures()
    {
        await using var host = TargetHosts.Create();
        await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
        {
            await host.StartAsync(CancellationToken.None);

            // The same LU twice: the second session logs in under another initiator name, so
            // MultipathIO and the two-I_T-nexus reservation tests run.
            var options = new IscsiTestCuOptions
            {
                Urls = [host.LunUrl, host.LunUrl],
                AllowSanitize = ConformanceSettings.AllowSanitize,
                TestFilter = ConformanceSettings.FullFilter,
            };
            await RunAndAssertNoFailuresAsync(host, "full", options);
        });
    }

    [Fact]
    public async Task Write_protect_suite_against_a_read_only_volume_has_no_failures()
    {
        await using var host = TargetHosts.Create();
        await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
        {
            await host.AddVolumeAsync("readonly", Sizes.GiB, readOnly: true, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            var url = await host.VolumeUrlAsync("readonly", CancellationToken.None);
            var options = new IscsiTestCuOptions
            {
                Urls = [url],
                AllowSanitize = ConformanceSettings.AllowSanitize,
                TestFilter = ConformanceSettings.ReadOnlyFilter,
            };
            await RunAndAssertNoFailuresAsync(host, "readonly", options);
        });
    }

    private async Task RunAndAssertNoFailuresAsync(ITargetHost host, string label, IscsiTestCuOptions options)
    {
        var command = IscsiTestCu.CommandLine(options);
        output.WriteLine($"$ {command}");
        var (result, run) = await IscsiTestCu.RunAsync(options, CancellationToken.None);

        var report = ConformanceReport.Full($"iscsi-test-cu against {host.Name} ({label})", command, run);
        Directory.CreateDirectory(ConformanceSettings.ReportsDirectory);
        var stem = Path.Combine(ConformanceSettings.ReportsDirectory, $"{host.Name}-{label}");
        await File.WriteAllTextAsync(stem + ".log", result.Output);
        await File.WriteAllTextAsync(stem + ".md", report);

        output.WriteLine($"{ConformanceReport.Totals(run)} in {result.Elapsed.TotalSeconds:0}s (exit {result.ExitCode}{(result.TimedOut ? ", timed out" : string.Empty)})");
        output.WriteLine($"raw log: {stem}.log, report: {stem}.md");
        output.WriteLine(string.Empty);
        output.WriteLine(ConformanceReport.PerSuite(run));
        if (run.Failed.Any())
        {
            output.WriteLine(ConformanceReport.Failures(run));
        }

        output.WriteLine(ConformanceReport.PerTest(run));

        Assert.True(run.Tests.Count > 0, $"iscsi-test-cu ran no test (exit {result.ExitCode}):\n{Head(result.Output)}");

        // One assertion naming every problem, so a single run tells the whole story.
        var problems = new List<string>();
        if (result.TimedOut)
        {
            problems.Add($"iscsi-test-cu did not finish within {options.Timeout}");
        }

        if (!run.Completed)
        {
            problems.Add($"iscsi-test-cu stopped before its run summary (exit {result.ExitCode}) in {run.Tests[^1].FullName}");
        }

        var failed = run.Failed.ToList();
        if (failed.Count > 0)
        {
            problems.Add(
                $"{failed.Count} of {run.Tests.Count} libiscsi tests failed:\n" +
                string.Join('\n', failed.Select(t => $"  {t.FullName}: {FirstReason(t)}")));
        }

        if (ConformanceSettings.StrictSkips)
        {
            var skipped = run.Tests
                .Where(t => t.Outcome == CunitOutcome.Skipped && !ConformanceSettings.IsInapplicableToFixedDisk(t))
                .ToList();
            if (skipped.Count > 0)
            {
                problems.Add(
                    $"{skipped.Count} libiscsi tests skipped that apply to a fixed disk:\n" +
                    string.Join('\n', skipped.Select(t => $"  {t.FullName}: {t.Messages.FirstOrDefault(m => m.Contains("[SKIPPED]", StringComparison.Ordinal))}")));
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private static string? FirstReason(CunitTestResult test) =>
        test.Messages.FirstOrDefault(m => m.Contains("[FAILED]", StringComparison.Ordinal))
        ?? test.FailedAssertions.FirstOrDefault()
        ?? test.Messages.FirstOrDefault();

    private static string Head(string text) => text.Length <= 4000 ? text : text[..4000] + "\n...";
}
