namespace Tessera.Conformance.Libiscsi;

/// <summary>The --test list syntax of iscsi-test-cu 1.19 (fnmatch patterns, reverse registration) and the merge of invocations.</summary>
public sealed class TestSelectionTests
{
    private const string List =
        "ALL\nALL.Alpha\nALL.Alpha.One\nALL.Alpha.Two\nALL.Sanitize\nALL.Sanitize.Overwrite\nALL.Sanitize.Reservations\nALL.Sanitize.Reset\n" +
        "ALL.Write10\nALL.Write10.Simple\nSCSI\nSCSI.Alpha\nSCSI.Alpha.One\n";

    private static readonly IReadOnlyList<LibiscsiTestName> All = LibiscsiTestName.ParseList(List);

    [Fact]
    public void List_output_yields_the_tests_in_order_without_family_and_suite_lines()
    {
        Assert.Equal(
            ["ALL.Alpha.One", "ALL.Alpha.Two", "ALL.Sanitize.Overwrite", "ALL.Sanitize.Reservations", "ALL.Sanitize.Reset", "ALL.Write10.Simple", "SCSI.Alpha.One"],
            All.Select(t => t.ToString()));
        Assert.Equal("Sanitize.Reset", All[4].SuiteTest);
    }

    [Theory]
    [InlineData("ALL", "ALL.Alpha.One", true)]
    [InlineData("ALL", "SCSI.Alpha.One", false)]
    [InlineData("ALL.Sanitize", "ALL.Sanitize.Reset", true)]
    [InlineData("ALL.Sanitize.Reset", "ALL.Sanitize.Reservations", false)]
    [InlineData("ALL.*.Re*", "ALL.Sanitize.Reservations", true)]
    [InlineData("ALL.Write1?", "ALL.Write10.Simple", true)]
    [InlineData("ALL.Alpha.[!O]*", "ALL.Alpha.One", false)]
    [InlineData("ALL.Alpha.[!O]*", "ALL.Alpha.Two", true)]
    [InlineData("ALL.Inquiry, SCSI.Alpha", "SCSI.Alpha.One", true)]
    [InlineData("*.Alpha.One", "SCSI.Alpha.One", true)]
    [InlineData("ALL.Alpha", "ALL.AlphaBeta.One", false)]
    public void Patterns_match_like_fnmatch_per_dotted_part(string filter, string test, bool matches)
    {
        var parts = test.Split('.');
        Assert.Equal(matches, TestSelection.Matches(filter, new LibiscsiTestName(parts[0], parts[1], parts[2])));
    }

    [Fact]
    public void Filter_names_whole_suites_once_and_partial_suites_by_test_in_reverse_order()
    {
        var all = All.Where(t => t.Family == "ALL").ToList();
        var selected = all.Where(t => t.SuiteTest != "Sanitize.Reset").ToList();

        // Reversed: iscsi-test-cu registers the last pattern first, so the tests run in list order.
        Assert.Equal("ALL.Write10,ALL.Sanitize.Reservations,ALL.Sanitize.Overwrite,ALL.Alpha", TestSelection.ToFilter(all, selected));
        Assert.Equal("ALL.Sanitize.Reset", TestSelection.ToFilter(all, all.Where(t => t.SuiteTest == "Sanitize.Reset")));
        Assert.Null(TestSelection.ToFilter(all, []));
    }

    [Fact]
    public void Merge_keeps_each_test_once_in_list_order_and_a_pass_beats_a_skip_elsewhere()
    {
        var main = Run(("Write10", "Simple", CunitOutcome.Passed), ("Alpha", "One", CunitOutcome.Skipped), ("Alpha", "Two", CunitOutcome.Passed));
        var emulated = Run(("Alpha", "One", CunitOutcome.Passed));
        var last = Run(("Sanitize", "Reset", CunitOutcome.Failed), ("Alpha", "Two", CunitOutcome.Skipped));

        var merged = CunitRun.Merge(All, [("main", main), ("512e", emulated), ("Sanitize.Reset", last)]);

        Assert.Equal(["Alpha.One", "Alpha.Two", "Sanitize.Reset", "Write10.Simple"], merged.Tests.Select(t => t.FullName));
        Assert.Equal([CunitOutcome.Passed, CunitOutcome.Passed, CunitOutcome.Failed, CunitOutcome.Passed], merged.Tests.Select(t => t.Outcome));
        Assert.Equal(["512e", "main", "Sanitize.Reset", "main"], merged.Tests.Select(t => t.Invocation));
        Assert.True(merged.Completed);
        Assert.Contains("Alpha.One [512e]", ConformanceReport.PerTest(merged, "main"));
        Assert.DoesNotContain("Write10.Simple [main]", ConformanceReport.PerTest(merged, "main"));
    }

    [Fact]
    public void Merge_keeps_a_failure_whatever_else_ran_and_an_incomplete_invocation_makes_it_incomplete()
    {
        var failedFirst = Run(("Alpha", "One", CunitOutcome.Failed));
        var passedLater = Run(("Alpha", "One", CunitOutcome.Passed)) with { Completed = false };

        var merged = CunitRun.Merge(All, [("a", failedFirst), ("b", passedLater)]);

        Assert.Equal(CunitOutcome.Failed, Assert.Single(merged.Tests).Outcome);
        Assert.False(merged.Completed);
    }

    private static CunitRun Run(params (string Suite, string Test, CunitOutcome Outcome)[] tests) =>
        new([.. tests.Select(t => new CunitTestResult(t.Suite, t.Test, t.Outcome, [], [], []))], true, null);
}
