namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// What the conformance runs include, in one place so the next issue's switches are one edit:
/// issue 2 runs <c>-d</c>; issue 3 adds <c>-S</c> and the read-only volume run.
/// </summary>
internal static class ConformanceSettings
{
    /// <summary>Set to 1 to pass <c>-S</c> (SANITIZE tests) before it becomes the default.</summary>
    public const string SanitizeVariable = "TESSERA_CONFORMANCE_SANITIZE";

    /// <summary>Where raw logs and reports go; default &lt;repo&gt;/TestResults/conformance.</summary>
    public const string ReportsVariable = "TESSERA_CONFORMANCE_REPORTS";

    /// <summary>Overrides <c>--test</c> for the full run (e.g. ALL.Inquiry while debugging one suite).</summary>
    public const string FilterVariable = "TESSERA_CONFORMANCE_TESTS";

    /// <summary>Issue 3 removes this skip once <c>volume create --read-only</c> exists.</summary>
    public const string ReadOnlySkipReason =
        "issue 3: read-only volumes (`tessera volume create NAME --read-only`) are not implemented yet";

    /// <summary>Suites that exercise a write-protected LU; every other suite expects a writable one.</summary>
    public const string ReadOnlyFilter = "ALL.ReadOnly";

    public static bool AllowSanitize => Environment.GetEnvironmentVariable(SanitizeVariable) == "1";

    public static string FullFilter => Environment.GetEnvironmentVariable(FilterVariable) is { Length: > 0 } filter ? filter : "ALL";

    public static string ReportsDirectory =>
        Environment.GetEnvironmentVariable(ReportsVariable) is { Length: > 0 } directory
            ? directory
            : Path.Combine(Harness.RepoPaths.Root, "TestResults", "conformance");
}
