namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// What the conformance runs include, in one place. Issue 3's bar is the default: <c>-d -S</c>
/// (data loss and SANITIZE allowed) and strict skips (a skip is a failure unless the test cannot
/// apply to a fixed, non-removable disk). How the full run is split into invocations is here too.
/// </summary>
internal static class ConformanceSettings
{
    /// <summary>Set to 0 to leave out <c>-S</c> (the SANITIZE tests then skip).</summary>
    public const string SanitizeVariable = "TESSERA_CONFORMANCE_SANITIZE";

    /// <summary>Where raw logs and reports go; default &lt;repo&gt;/TestResults/conformance.</summary>
    public const string ReportsVariable = "TESSERA_CONFORMANCE_REPORTS";

    /// <summary>Overrides <c>--test</c> for the full run (e.g. ALL.Inquiry while debugging one suite).</summary>
    public const string FilterVariable = "TESSERA_CONFORMANCE_TESTS";

    /// <summary>
    /// Set to 0 to accept every skip. By default a skip fails the run unless the test cannot apply
    /// to a fixed, non-removable disk (issue 3's bar: every command implemented).
    /// </summary>
    public const string StrictSkipsVariable = "TESSERA_CONFORMANCE_STRICT_SKIPS";

    /// <summary>
    /// The read-only run: the tests that exercise a write-protected LU (the ReadOnly suite) and the
    /// WRPROTECT/RDPROTECT/VRPROTECT field tests, which must be refused as invalid CDB fields on any LU.
    /// </summary>
    public const string ReadOnlyFilter = "ALL.ReadOnly,ALL.*.*Protect";

    /// <summary>
    /// Left out of the read-only run: WriteAtomic16.WriteProtect first writes a block expecting GOOD,
    /// which a write-protected LU must refuse with DATA PROTECT, so it cannot pass there. It runs
    /// (and passes) in the full run on the writable LU.
    /// </summary>
    public static readonly IReadOnlySet<string> NotOnReadOnly = new HashSet<string> { "WriteAtomic16.WriteProtect" };

    /// <summary>
    /// Suites run after the main invocation, in invocations of their own. SANITIZE overwrites the
    /// whole LU (Overwrite leaves 0xAA, which MultipathIO.CompareAndWrite — expecting zeros at LBA
    /// 256 — must not see), and Sanitize.Reservations leaves a RESERVE(6) held by the second session.
    /// </summary>
    public static readonly IReadOnlyList<string> SeparateSuites = ["Sanitize"];

    /// <summary>
    /// Tests that get an invocation to themselves (and run before the rest of their suite):
    /// Sanitize.Reset must not inherit the RESERVE(6) Sanitize.Reservations leaves (its SANITIZE
    /// would rightly get RESERVATION CONFLICT).
    /// </summary>
    public static readonly IReadOnlyList<string> IsolatedTests = ["Sanitize.Reset"];

    /// <summary>
    /// libiscsi's skip for tests that need more than one logical block per physical block
    /// (CompareAndWrite/WriteSame10/WriteSame16 InvalidDataOutSize, WriteSame10/16 UnmapUnaligned).
    /// The main run is on an LBPPB = 1 LU — GetLBAStatus.UnmapSingle in libiscsi 1.19 is only right
    /// there (for LBPPB &gt; 1 it asks about LBA i+1 yet expects the descriptor to start at i+LBPPB) —
    /// so tests skipped for this reason run again on <see cref="EmulatedVolumeName"/>.
    /// </summary>
    public const string LbppbSkipMarker = "LBPPB < 2";

    /// <summary>A 512e volume: 512-byte logical blocks on 4096-byte physical blocks (LBPPBE 3).</summary>
    public const string EmulatedVolumeName = "e512";

    public const int EmulatedPhysicalBlockSize = 4096;

    public static bool StrictSkips => Environment.GetEnvironmentVariable(StrictSkipsVariable) != "0";

    public static bool AllowSanitize => Environment.GetEnvironmentVariable(SanitizeVariable) != "0";

    /// <summary>
    /// A skip a fixed, non-removable disk legitimately reports (PreventAllow, media removal), or
    /// the write-protect suite on a writable LU (the read-only run covers it).
    /// </summary>
    public static bool IsInapplicableToFixedDisk(CunitTestResult test) =>
        test.Suite == "PreventAllow" ||
        test.Messages.Any(m => m.Contains("[SKIPPED]", StringComparison.Ordinal) &&
                               (m.Contains("not removable", StringComparison.OrdinalIgnoreCase) ||
                                (test.Suite == "ReadOnly" && m.Contains("not write-protected", StringComparison.OrdinalIgnoreCase))));

    /// <summary>True if the test skipped only because the LU has one logical block per physical block.</summary>
    public static bool SkippedForLbppb(CunitTestResult test) =>
        test.Outcome == CunitOutcome.Skipped &&
        test.Messages.Any(m => m.Contains("[SKIPPED]", StringComparison.Ordinal) && m.Contains(LbppbSkipMarker, StringComparison.Ordinal));

    public static string FullFilter => Environment.GetEnvironmentVariable(FilterVariable) is { Length: > 0 } filter ? filter : "ALL";

    public static string ReportsDirectory =>
        Environment.GetEnvironmentVariable(ReportsVariable) is { Length: > 0 } directory
            ? directory
            : Path.Combine(Harness.RepoPaths.Root, "TestResults", "conformance");
}
