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
}
