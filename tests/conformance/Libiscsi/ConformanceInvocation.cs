using Tessera.Conformance.Harness;

namespace Tessera.Conformance.Libiscsi;

/// <summary>One iscsi-test-cu invocation of a conformance run: why it exists, what it ran, what came out.</summary>
internal sealed record ConformanceInvocation(string Label, string Purpose, IscsiTestCuOptions Options, ToolResult Result, CunitRun Run)
{
    public string Command => IscsiTestCu.CommandLine(Options);

    public string Outcome =>
        $"exit {Result.ExitCode}{(Result.TimedOut ? ", timed out" : string.Empty)}{(Run.Completed ? string.Empty : ", no run summary")}";
}
