using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Conformance.Harness;

/// <summary>
/// A long-running child (a Tessera node, tgtd) whose stdout and stderr are kept for the test
/// log. Stopped with SIGTERM then SIGKILL; <see cref="KillHard"/> is the <c>kill -9</c> of
/// crash tests. Children still alive when the test host exits are killed so that a crashed
/// run does not leave targets listening.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int SIGTERM = 15;
    private static readonly ConcurrentDictionary<ChildProcess, byte> Live = new();

    private readonly Process process;
    private readonly StringBuilder log = new();
    private readonly string name;
    private readonly Action<string>? echo;
    private TaskCompletionSource lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var child in Live.Keys)
            {
                child.KillHard();
            }
        };
    }

    private ChildProcess(string name, Process process, Action<string>? echo)
    {
        this.name = name;
        this.process = process;
        this.echo = echo;
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the child. <paramref name="echo"/>, if given, also receives every line as it is logged
    /// (<c>[out] …</c>, <c>[err] …</c>, <c>[harness] …</c>), so a host of several children can keep one
    /// log in arrival order.
    /// </summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        Action<string>? echo = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        var child = new ChildProcess(name, new Process { StartInfo = psi, EnableRaisingEvents = true }, echo);
        child.process.OutputDataReceived += (_, e) => child.Append("out", e.Data);
        child.process.ErrorDataReceived += (_, e) => child.Append("err", e.Data);
        child.process.Exited += (_, _) => child.Signal();
        child.Append("harness", $"$ {fileName} {string.Join(' ', psi.ArgumentList)}");
        child.process.Start();
        child.process.StandardInput.Close();
        child.process.BeginOutputReadLine();
        child.process.BeginErrorReadLine();
        Live[child] = 0;
        return child;
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/>; fails fast if the child exits.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task arrived;
            lock (log)
            {
                var match = pattern.Match(log.ToString());
                if (match.Success)
                {
                    return match;
                }

                arrived = lineArrived.Task;
            }

            if (process.HasExited)
            {
                // Let the readers drain the last lines before giving up.
                process.WaitForExit();
                lock (log)
                {
                    var match = pattern.Match(log.ToString());
                    if (match.Success)
                    {
                        return match;
                    }
                }

                throw new InvalidOperationException(
                    $"{name} exited with code {process.ExitCode} before printing /{pattern}/:\n{Log}");
            }

            try
            {
                await arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{name} did not print /{pattern}/ within {timeout}:\n{Log}");
            }
        }
    }

    /// <summary>SIGTERM, then SIGKILL if the child has not exited within <paramref name="grace"/>.</summary>
    public async Task<bool> TerminateAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            Live.TryRemove(this, out _);
            return true;
        }

        _ = kill(process.Id, SIGTERM);
        using var deadline = new CancellationTokenSource(grace);
        var clean = true;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            clean = false;
            Append("harness", $"no exit {grace.TotalSeconds:0}s after SIGTERM; sending SIGKILL");
            KillHard();
        }

        process.WaitForExit();
        Append("harness", $"exited with code {process.ExitCode}");
        Live.TryRemove(this, out _);
        return clean;
    }

    /// <summary><c>kill -9</c>: no chance to flush anything that was not already durable.</summary>
    public void KillHard()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }

        Live.TryRemove(this, out _);
    }

    public async ValueTask DisposeAsync()
    {
        await TerminateAsync(TimeSpan.FromSeconds(10));
        process.Dispose();
    }

    private void Append(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }

        var entry = $"[{stream}] {line}";
        lock (log)
        {
            log.Append(entry).Append('\n');
            echo?.Invoke(entry);
            var arrived = lineArrived;
            lineArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived.TrySetResult();
        }
    }

    private void Signal()
    {
        lock (log)
        {
            lineArrived.TrySetResult();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
