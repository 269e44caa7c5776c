using System.Diagnostics;
using System.Text;

namespace Tessera.Conformance.Harness;

internal sealed record ToolResult(int ExitCode, string Output, bool TimedOut, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;
}

/// <summary>Runs an external tool to completion with a deadline, capturing its output.</summary>
internal static class ToolRunner
{
    /// <summary>
    /// Runs <paramref name="fileName"/>. With <paramref name="mergeStreams"/> stdout and stderr
    /// share one pipe (through <c>sh</c>) and stdout is line-buffered with <c>stdbuf</c>, so
    /// diagnostics stay in the order the tool printed them — the libiscsi parser relies on it.
    /// </summary>
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IReadOnlyList<string> arguments,
        TimeSpan timeout,
        CancellationToken cancellationToken,
        bool mergeStreams = false,
        string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        if (mergeStreams)
        {
            psi.FileName = "/bin/sh";
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$@\" 2>&1");
            psi.ArgumentList.Add("sh");
            if (File.Exists("/usr/bin/stdbuf"))
            {
                psi.ArgumentList.Add("/usr/bin/stdbuf");
                psi.ArgumentList.Add("-oL");
            }
        }
        else
        {
            psi.FileName = fileName;
        }

        if (mergeStreams)
        {
            psi.ArgumentList.Add(fileName);
        }

        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
        }

        // The parameterless wait drains the asynchronous output readers.
        process.WaitForExit();
        lock (output)
        {
            return new ToolResult(process.ExitCode, output.ToString(), timedOut, stopwatch.Elapsed);
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Append(line).Append('\n');
        }
    }
}
