using Tessera.Conformance.Harness;

namespace Tessera.Conformance.Libiscsi;

internal static class IscsiTestCu
{
    public const string Tool = "iscsi-test-cu";

    public static async Task<(ToolResult Result, CunitRun Run)> RunAsync(IscsiTestCuOptions options, CancellationToken cancellationToken)
    {
        var result = await ToolRunner.RunAsync(Tool, options.ToArguments(), options.Timeout, cancellationToken, mergeStreams: true);
        if (result.ExitCode == 127)
        {
            throw new InvalidOperationException($"{Tool} not found: install libiscsi-bin (./test.sh does). {result.Output}");
        }

        return (result, CunitVerboseParser.Parse(result.Output));
    }

    /// <summary>Every test the installed iscsi-test-cu knows (<c>--list</c>), in its order.</summary>
    public static async Task<IReadOnlyList<LibiscsiTestName>> ListAsync(CancellationToken cancellationToken)
    {
        var result = await ToolRunner.RunAsync(Tool, ["--list"], TimeSpan.FromMinutes(1), cancellationToken);
        if (result.ExitCode == 127)
        {
            throw new InvalidOperationException($"{Tool} not found: install libiscsi-bin (./test.sh does). {result.Output}");
        }

        var tests = LibiscsiTestName.ParseList(result.Output);
        return tests.Count > 0 ? tests : throw new InvalidOperationException($"{Tool} --list named no test (exit {result.ExitCode}):\n{result.Output}");
    }

    public static string CommandLine(IscsiTestCuOptions options) => string.Join(' ', [Tool, .. options.ToArguments()]);
}
