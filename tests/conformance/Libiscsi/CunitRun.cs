namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// A parsed iscsi-test-cu run. <see cref="Completed"/> is false when CUnit never printed its
/// run summary — the tool crashed, hung or was killed — and the last test then counts as failed.
/// </summary>
internal sealed record CunitRun(IReadOnlyList<CunitTestResult> Tests, bool Completed, string? Preamble)
{
    public int Count(CunitOutcome outcome) => Tests.Count(t => t.Outcome == outcome);

    public IEnumerable<CunitTestResult> Failed => Tests.Where(t => t.Outcome == CunitOutcome.Failed);
}
