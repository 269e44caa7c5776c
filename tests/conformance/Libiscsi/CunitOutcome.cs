namespace Tessera.Conformance.Libiscsi;

internal enum CunitOutcome
{
    Passed,
    Failed,
    Skipped,
}
