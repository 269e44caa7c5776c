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

    public static string CommandLine(IscsiTestCuOptions options) => string.Join(' ', [Tool, .. options.ToArguments()]);
}
