namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// What the conformance runs include, in one place so the next issue's switches are one edit:
/// issue 2 runs <c>-d</c> (plus the write-protect suite on a read-only volume, which the CLI
/// already offers) and accepts skips; issue 3 turns on <c>-S</c> and strict skips by default.
/// </summary>
internal static class ConformanceSettings
{
    /// <summary>Set to 1 to pass <c>-S</c> (SANITIZE tests) before it becomes the default.</summary>
    public const string SanitizeVariable = "TESSERA_CONFORMANCE_SANITIZE";

    /// <summary>Where raw logs and reports go; default &lt;repo&gt;/TestResults/conformance.</summary>
    public const string ReportsVariable = "TESSERA_CONFORMANCE_REPORTS";

    /// <summary>Overrides <c>--test</c> for the full run (e.g. ALL.Inquiry while debugging one suite).</summary>
    public const string FilterVariable = "TESSERA_CONFORMANCE_TESTS";

    /// <summary>
    /// Set to 1 to fail on skips too, except tests that cannot apply to a fixed, non-removable
    /// disk (issue 3's bar: every command implemented). Issue 2 accepts skips.
    /// </summary>
    public const string StrictSkipsVariable = "TESSERA_CONFORMANCE_STRICT_SKIPS";

    /// <summary>Suites that exercise a write-protected LU; every other suite expects a writable one.</summary>
    public const string ReadOnlyFilter = "ALL.ReadOnly";

    public static bool StrictSkips => Environment.GetEnvironmentVariable(StrictSkipsVariable) == "1";

    /// <summary>
    /// A skip a fixed, non-removable disk legitimately reports (PreventAllow, media removal), or
    /// the write-protect suite on a writable LU (the read-only run covers it).
    /// </summary>
    public static bool IsInapplicableToFixedDisk(CunitTestResult test) =>
        test.Suite == "PreventAllow" ||
        test.Messages.Any(m => m.Contains("[SKIPPED]", StringComparison.Ordinal) &&
                               (m.Contains("not removable", StringComparison.OrdinalIgnoreCase) ||
                                (test.Suite == "ReadOnly" && m.Contains("not write-protected", StringComparison.OrdinalIgnoreCase))));

    public static bool AllowSanitize => Environment.GetEnvironmentVariable(SanitizeVariable) == "1";

    public static string FullFilter => Environment.GetEnvironmentVariable(FilterVariable) is { Length: > 0 } filter ? filter : "ALL";

    public static string ReportsDirectory =>
        Environment.GetEnvironmentVariable(ReportsVariable) is { Length: > 0 } directory
            ? directory
            : Path.Combine(Harness.RepoPaths.Root, "TestResults", "conformance");
}
