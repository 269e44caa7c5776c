namespace Tessera.Conformance.Libiscsi;

/// <summary>The parser against hand-made output in iscsi-test-cu's verbose layout, edge cases included.</summary>
public sealed class CunitVerboseParserTests
{
    private const string Sample =
        "Found matching LU device identifier for all (2) paths\n" +
        "\n" +
        "     CUnit - A unit testing framework for C - Version 2.1-3\n" +
        "\n" +
        "Suite: Alpha\n" +
        "  Test: Plain ...passed\n" +
        "  Test: NotThere ...    [SKIPPED] FOO is not implemented.\n" +
        "    [SKIPPED] FOO is not implemented.\n" +
        "passed\n" +
        "  Test: Broken ...    [FAILED] FOO returned the wrong sense\n" +
        "FAILED\n" +
        "    1. test_foo.c:38  - CU_ASSERT_EQUAL(ret,0)\n" +
        "    2. test_foo.c:41  - CU_ASSERT_EQUAL(ret,0)    [SKIPPED] PERSISTENT RESERVE IN is not implemented.\n" +
        "  Test: Teardown ...passed    [FAILED] cleanup command failed with sense\n" +
        "\n" +
        "Suite: Beta\n" +
        "  Test: Chatty ...    Take out a RESERVE6 from the first initiator\n" +
        "    RELEASE6 from the first initiator\n" +
        "passed\n" +
        "  Test: SkipThenFail ...    [SKIPPED] part of it does not apply\n" +
        "    [FAILED] the rest went wrong\n" +
        "FAILED\n" +
        "    1. test_bar.c:12  - CU_ASSERT_NOT_EQUAL(ret,0)\n" +
        "  Test: NextSetupSkips ...passed\n" +
        "    [SKIPPED] printed by teardown, after the verdict\n" +
        "\n" +
        "Run Summary:    Type  Total    Ran Passed Failed Inactive\n" +
        "               tests      7      7      5      2        0\n";

    [Fact]
    public void Classifies_every_test_by_verdict_and_skip_marker()
    {
        var run = CunitVerboseParser.Parse(Sample);

        Assert.True(run.Completed);
        Assert.Equal(
            [
                ("Alpha.Plain", CunitOutcome.Passed),
                ("Alpha.NotThere", CunitOutcome.Skipped),
                ("Alpha.Broken", CunitOutcome.Failed),
                ("Alpha.Teardown", CunitOutcome.Passed),
                ("Beta.Chatty", CunitOutcome.Passed),
                ("Beta.SkipThenFail", CunitOutcome.Failed),
                ("Beta.NextSetupSkips", CunitOutcome.Passed),
            ],
            run.Tests.Select(t => (t.FullName, t.Outcome)));
        Assert.Equal((4, 2, 1), (run.Count(CunitOutcome.Passed), run.Count(CunitOutcome.Failed), run.Count(CunitOutcome.Skipped)));
        Assert.StartsWith("Found matching LU", run.Preamble);
    }

    [Fact]
    public void Keeps_messages_and_failed_assertions_of_a_failed_test()
    {
        var broken = CunitVerboseParser.Parse(Sample).Tests.Single(t => t.FullName == "Alpha.Broken");

        Assert.Equal(["[FAILED] FOO returned the wrong sense"], broken.Messages);
        Assert.Equal(["1. test_foo.c:38  - CU_ASSERT_EQUAL(ret,0)", "2. test_foo.c:41  - CU_ASSERT_EQUAL(ret,0)"], broken.FailedAssertions);
        Assert.Equal(["[SKIPPED] PERSISTENT RESERVE IN is not implemented."], broken.Trailing);
    }

    [Fact]
    public void Output_after_the_verdict_is_trailing_not_the_tests_own()
    {
        var run = CunitVerboseParser.Parse(Sample);
        var teardown = run.Tests.Single(t => t.FullName == "Alpha.Teardown");

        Assert.Empty(teardown.Messages);
        Assert.Equal(["[FAILED] cleanup command failed with sense"], teardown.Trailing);
    }

    [Fact]
    public void A_run_cut_short_is_incomplete_and_its_last_test_failed()
    {
        var cut = "Suite: Alpha\n  Test: Plain ...passed\n  Test: Crashes ...    [FAILED] connection lost\n";

        var run = CunitVerboseParser.Parse(cut);

        Assert.False(run.Completed);
        Assert.Equal(CunitOutcome.Passed, run.Tests[0].Outcome);
        Assert.Equal(CunitOutcome.Failed, run.Tests[1].Outcome);
        Assert.Contains(run.Tests[1].Messages, m => m.Contains("no CUnit verdict", StringComparison.Ordinal));
    }

    [Fact]
    public void Output_without_tests_parses_to_an_empty_incomplete_run()
    {
        var run = CunitVerboseParser.Parse("iscsi_connect failed. connection refused\nFailed to connect to SCSI device 0\n");

        Assert.Empty(run.Tests);
        Assert.False(run.Completed);
        Assert.Contains("connection refused", run.Preamble);
    }

    [Fact]
    public void Per_suite_table_counts_each_outcome_and_totals()
    {
        var table = ConformanceReport.PerSuite(CunitVerboseParser.Parse(Sample));

        Assert.Contains("| Alpha | 2 | 1 | 1 |", table);
        Assert.Contains("| Beta | 2 | 1 | 0 |", table);
        Assert.Contains("| **total** | 4 | 2 | 1 |", table);
    }

    [Fact]
    public void Options_pass_both_initiator_names_and_both_urls()
    {
        var options = new IscsiTestCuOptions { Urls = ["iscsi://a/iqn.x/0", "iscsi://a/iqn.x/0"], AllowSanitize = true };

        var arguments = options.ToArguments();

        Assert.Contains("--dataloss", arguments);
        Assert.Contains("--allow-sanitize", arguments);
        Assert.Contains("--test=ALL", arguments);
        Assert.Contains(arguments, a => a.StartsWith("--initiator-name=", StringComparison.Ordinal));
        Assert.Contains(arguments, a => a.StartsWith("--initiator-name-2=", StringComparison.Ordinal));
        Assert.Equal(["iscsi://a/iqn.x/0", "iscsi://a/iqn.x/0"], arguments.TakeLast(2));
    }
}
