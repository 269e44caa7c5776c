namespace Tessera.Conformance.Libiscsi;

public sealed class ConformanceSettingsTests
{
    private static CunitTestResult Skipped(string suite, string message) =>
        new(suite, "T", CunitOutcome.Skipped, [message], [], []);

    [Theory]
    [InlineData("PreventAllow", "[SKIPPED] anything at all", true)]
    [InlineData("StartStopUnit", "[SKIPPED] Media is not removable.", true)]
    [InlineData("ReadOnly", "[SKIPPED] Logical unit is not write-protected. Skipping test.", true)]
    [InlineData("Write10", "[SKIPPED] Logical unit is not write-protected. Skipping test.", false)]
    [InlineData("Unmap", "[SKIPPED] UNMAP is not implemented.", false)]
    [InlineData("Sanitize", "[SKIPPED] --allow-sanitize flag is not set. Skipping test.", false)]
    public void Strict_mode_tolerates_only_skips_that_cannot_apply_to_a_fixed_writable_disk(string suite, string message, bool tolerated) =>
        Assert.Equal(tolerated, ConformanceSettings.IsInapplicableToFixedDisk(Skipped(suite, message)));

    [Theory]
    [InlineData("[SKIPPED] LBPPB < 2. Skipping test", true)]
    [InlineData("[SKIPPED] UNMAP is not implemented.", false)]
    public void Lbppb_skips_are_recognised_for_the_512e_invocation(string message, bool lbppb) =>
        Assert.Equal(lbppb, ConformanceSettings.SkippedForLbppb(Skipped("WriteSame10", message)));

    [Fact]
    public void Sanitize_reset_runs_alone_and_write_atomic_protect_stays_off_the_read_only_LU()
    {
        Assert.Contains("Sanitize.Reset", ConformanceSettings.IsolatedTests);
        Assert.Contains("Sanitize", ConformanceSettings.SeparateSuites);
        Assert.Contains("WriteAtomic16.WriteProtect", ConformanceSettings.NotOnReadOnly);
        Assert.True(TestSelection.Matches(ConformanceSettings.ReadOnlyFilter, new LibiscsiTestName("ALL", "WriteAtomic16", "WriteProtect")));
    }
}
