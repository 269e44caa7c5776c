namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// One test of an iscsi-test-cu run. <see cref="Messages"/> is what the test printed before
/// CUnit's verdict (libiscsi's [FAILED]/[SKIPPED] explanations); <see cref="FailedAssertions"/>
/// the numbered CUnit assertion lines after a FAILED verdict; <see cref="Trailing"/> output
/// after the verdict that is not an assertion (suite teardown, the next suite's setup).
/// </summary>
internal sealed record CunitTestResult(
    string Suite,
    string Test,
    CunitOutcome Outcome,
    IReadOnlyList<string> Messages,
    IReadOnlyList<string> FailedAssertions,
    IReadOnlyList<string> Trailing)
{
    public string FullName => $"{Suite}.{Test}";

    /// <summary>Label of the iscsi-test-cu invocation this result comes from, when a run merges several.</summary>
    public string? Invocation { get; init; }
}
