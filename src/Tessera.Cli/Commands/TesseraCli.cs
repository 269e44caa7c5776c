using System.CommandLine;
using System.CommandLine.Parsing;
using Tessera.Cli.Bench;

namespace Tessera.Cli.Commands;

/// <summary>The `tessera` command tree. Every bad argument is one line on stderr and exit code 2.</summary>
internal static class TesseraCli
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    public static RootCommand Build()
    {
        var root = new RootCommand("Tessera: a scale-out iSCSI SAN.");
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(NodeCommand.Create());
        root.Subcommands.Add(VolumeCommands.Create());
        root.Subcommands.Add(ChapCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        var bench = new Command("bench", "Measure this machine.");
        bench.Subcommands.Add(ParityBenchCommand.Create());
        root.Subcommands.Add(bench);
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        RootCommand root = Build();
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            // One line, naming the problem; `--help` shows the rest.
            Console.Error.WriteLine($"tessera: {result.Errors[0].Message}");
            return ExitUsage;
        }
        try
        {
            return await result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"tessera: {ex.Message}");
            return ExitUsage;
        }
        catch (Exception ex) when (ex is Storage.StorageException or Cluster.Metadata.MetadataStoreException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"tessera: {ex.Message}");
            return ExitFailure;
        }
    }
}

/// <summary>A bad argument found after parsing (a value that parses but makes no sense).</summary>
internal sealed class UsageException(string message) : Exception(message);
