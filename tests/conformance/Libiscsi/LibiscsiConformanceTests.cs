using Tessera.Conformance.Harness;

namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// libiscsi's iscsi-test-cu against a freshly started target. A run may take several invocations
/// against the same node (see <see cref="ConformanceSettings"/> for why); their results merge into
/// one report — each test once — with the per-suite table, kept with every raw log under
/// <see cref="ConformanceSettings.ReportsDirectory"/>. Fails listing every failed test, and with
/// strict skips (the default) every skip that a fixed, non-removable disk should not need.
/// </summary>
public sealed class LibiscsiConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Full_suite_over_two_sessions_to_one_LU_has_no_failures()
    {
        await using var host = TargetHosts.Create();
        await RunFullSuiteAsync(host, "full", secondPath: url => url);
    }

    /// <summary>
    /// Issue 5: the same suite against a 6-node cluster in one process, the first session through
    /// node 1 and the multipath session through node 4 — every reservation, PR, UA and TMF test then
    /// crosses nodes through the cluster SCSI context, and the data through the distributed volume.
    /// </summary>
    [Fact]
    public async Task Full_suite_across_a_six_node_cluster_node_1_and_node_4_has_no_failures()
    {
        await using var host = new TesseraNodeHost(Sizes.GiB, nodes: 6);
        await RunFullSuiteAsync(host, "cluster", secondPath: url => host.ThroughNode(url, 4));
    }

    /// <summary>
    /// Issue 5, production shape: the same suite against six <c>tessera node</c> processes sharing
    /// one etcd, through node 1 and node 4 — the SCSI context now crosses process boundaries through
    /// the etcd store, and the data through the inter-node protocol over TCP.
    /// </summary>
    [Fact]
    public async Task Full_suite_across_six_node_processes_on_etcd_node_1_and_node_4_has_no_failures()
    {
        await using var host = new EtcdClusterHost(Sizes.GiB, nodes: 6);
        await RunFullSuiteAsync(host, "etcd", secondPath: url => host.ThroughNode(url, 4));
    }

    private async Task RunFullSuiteAsync(ITargetHost host, string run, Func<string, string> secondPath)
    {
        await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
        {
            // LUN 0 keeps one logical block per physical block; the 512e volume is for the tests
            // that need more (ConformanceSettings.LbppbSkipMarker).
            await host.AddVolumeAsync(ConformanceSettings.EmulatedVolumeName, Sizes.GiB, readOnly: false,
                ConformanceSettings.EmulatedPhysicalBlockSize, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            var emulatedUrl = await host.VolumeUrlAsync(ConformanceSettings.EmulatedVolumeName, CancellationToken.None);

            var all = await IscsiTestCu.ListAsync(CancellationToken.None);
            var selected = all.Where(t => TestSelection.Matches(ConformanceSettings.FullFilter, t)).ToList();
            Assert.True(selected.Count > 0, $"{ConformanceSettings.FullFilter} selects no test of {IscsiTestCu.Tool} --list");

            var isolated = selected.Where(t => ConformanceSettings.IsolatedTests.Contains(t.SuiteTest)).ToList();
            var separate = selected.Where(t => ConformanceSettings.SeparateSuites.Contains(t.Suite) && !isolated.Contains(t)).ToList();
            var main = selected.Except(isolated).Except(separate).ToList();

            // The same LU twice: the second session logs in under another initiator name, so
            // MultipathIO and the two-I_T-nexus reservation tests run.
            string[] lun0 = [host.LunUrl, secondPath(host.LunUrl)];
            var onLun0 = $"LUN {Lun(host.LunUrl)}";
            var invocations = new List<ConformanceInvocation>();
            await RunAsync("main", $"every selected test but {string.Join(", ", ConformanceSettings.SeparateSuites)}, {onLun0}", lun0, main);

            var needLbppb = invocations[0].Run.Tests
                .Where(ConformanceSettings.SkippedForLbppb)
                .Select(r => main.First(t => t.SuiteTest == r.FullName))
                .ToList();
            await RunAsync("512e", $"tests skipped for \"{ConformanceSettings.LbppbSkipMarker}\", again on a {ConformanceSettings.EmulatedPhysicalBlockSize}-byte physical block LU, LUN {Lun(emulatedUrl)}",
                [emulatedUrl, secondPath(emulatedUrl)], needLbppb);

            foreach (var test in isolated)
            {
                await RunAsync(test.SuiteTest, $"alone (see ConformanceSettings.IsolatedTests), {onLun0}", lun0, [test]);
            }

            foreach (var suite in separate.GroupBy(t => t.Suite))
            {
                await RunAsync(suite.Key, $"after the main invocation (see ConformanceSettings.SeparateSuites), {onLun0}", lun0, [.. suite]);
            }

            await ReportAndAssertAsync(host, run, all, invocations);

            async Task RunAsync(string label, string purpose, IReadOnlyList<string> urls, IReadOnlyList<LibiscsiTestName> tests)
            {
                if (TestSelection.ToFilter(all, tests) is not { } filter)
                {
                    return;
                }

                var options = new IscsiTestCuOptions
                {
                    Urls = urls,
                    AllowSanitize = ConformanceSettings.AllowSanitize,
                    TestFilter = filter,
                };
                invocations.Add(await InvokeAsync(host, run, label, purpose, options));
            }
        });
    }

    [Fact]
    public async Task Write_protect_suite_against_a_read_only_volume_has_no_failures()
    {
        await using var host = TargetHosts.Create();
        await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
        {
            await host.AddVolumeAsync("readonly", Sizes.GiB, readOnly: true, physicalBlockSize: 0, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);
            var url = await host.VolumeUrlAsync("readonly", CancellationToken.None);

            var all = await IscsiTestCu.ListAsync(CancellationToken.None);
            var tests = all
                .Where(t => TestSelection.Matches(ConformanceSettings.ReadOnlyFilter, t) && !ConformanceSettings.NotOnReadOnly.Contains(t.SuiteTest))
                .ToList();
            var options = new IscsiTestCuOptions
            {
                Urls = [url],
                AllowSanitize = ConformanceSettings.AllowSanitize,
                TestFilter = TestSelection.ToFilter(all, tests) ?? throw new InvalidOperationException($"{ConformanceSettings.ReadOnlyFilter} selects nothing"),
            };
            var invocation = await InvokeAsync(host, "readonly", "main", "write-protect tests on a read-only volume", options);
            await ReportAndAssertAsync(host, "readonly", all, [invocation]);
        });
    }

    private async Task<ConformanceInvocation> InvokeAsync(ITargetHost host, string run, string label, string purpose, IscsiTestCuOptions options)
    {
        output.WriteLine($"[{label}] $ {IscsiTestCu.CommandLine(options)}");
        var (result, parsed) = await IscsiTestCu.RunAsync(options, CancellationToken.None);
        var invocation = new ConformanceInvocation(label, purpose, options, result, parsed);
        Directory.CreateDirectory(ConformanceSettings.ReportsDirectory);
        await File.WriteAllTextAsync(LogPath(host, run, label), result.Output);
        output.WriteLine($"[{label}] {ConformanceReport.Totals(parsed)} in {result.Elapsed.TotalSeconds:0}s ({invocation.Outcome})");
        return invocation;
    }

    private static string Lun(string url) => url[(url.LastIndexOf('/') + 1)..];

    private static string LogPath(ITargetHost host, string run, string label) =>
        Path.Combine(ConformanceSettings.ReportsDirectory, $"{host.Name}-{run}-{string.Concat(label.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'))}.log");

    private async Task ReportAndAssertAsync(ITargetHost host, string run, IReadOnlyList<LibiscsiTestName> order, IReadOnlyList<ConformanceInvocation> invocations)
    {
        var merged = CunitRun.Merge(order, invocations.Select(i => (i.Label, i.Run)));
        var report = ConformanceReport.Full($"iscsi-test-cu against {host.Name} ({run})", invocations, merged);
        var reportPath = Path.Combine(ConformanceSettings.ReportsDirectory, $"{host.Name}-{run}.md");
        await File.WriteAllTextAsync(reportPath, report);

        output.WriteLine(string.Empty);
        output.WriteLine($"{ConformanceReport.Totals(merged)} in {invocations.Sum(i => i.Result.Elapsed.TotalSeconds):0}s over {invocations.Count} invocation(s)");
        output.WriteLine($"report: {reportPath}, raw logs: {string.Join(", ", invocations.Select(i => LogPath(host, run, i.Label)))}");
        output.WriteLine(string.Empty);
        output.WriteLine(ConformanceReport.Invocations(invocations));
        output.WriteLine(ConformanceReport.PerSuite(merged));
        if (merged.Failed.Any())
        {
            output.WriteLine(ConformanceReport.Failures(merged));
        }

        output.WriteLine(ConformanceReport.PerTest(merged, invocations[0].Label));

        Assert.True(merged.Tests.Count > 0, $"iscsi-test-cu ran no test (exit {invocations[0].Result.ExitCode}):\n{Head(invocations[0].Result.Output)}");

        // One assertion naming every problem, so a single run tells the whole story.
        var problems = new List<string>();
        foreach (var invocation in invocations)
        {
            if (invocation.Result.TimedOut)
            {
                problems.Add($"[{invocation.Label}] iscsi-test-cu did not finish within {invocation.Options.Timeout}");
            }

            if (!invocation.Run.Completed)
            {
                var last = invocation.Run.Tests.Count > 0 ? invocation.Run.Tests[^1].FullName : "(before the first test)";
                problems.Add($"[{invocation.Label}] iscsi-test-cu stopped before its run summary (exit {invocation.Result.ExitCode}) in {last}");
            }
        }

        var failed = merged.Failed.ToList();
        if (failed.Count > 0)
        {
            problems.Add(
                $"{failed.Count} of {merged.Tests.Count} libiscsi tests failed:\n" +
                string.Join('\n', failed.Select(t => $"  {t.FullName} [{t.Invocation}]: {FirstReason(t)}")));
        }

        if (ConformanceSettings.StrictSkips)
        {
            var skipped = merged.Tests
                .Where(t => t.Outcome == CunitOutcome.Skipped && !ConformanceSettings.IsInapplicableToFixedDisk(t))
                .ToList();
            if (skipped.Count > 0)
            {
                problems.Add(
                    $"{skipped.Count} libiscsi tests skipped that apply to a fixed disk:\n" +
                    string.Join('\n', skipped.Select(t => $"  {t.FullName} [{t.Invocation}]: {t.Messages.FirstOrDefault(m => m.Contains("[SKIPPED]", StringComparison.Ordinal))}")));
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
