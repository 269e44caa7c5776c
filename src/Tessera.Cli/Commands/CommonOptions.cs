using System.CommandLine;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

internal static class CommonOptions
{
    public const string DefaultDataDirectory = "./tessera-data";

    public static Option<string> Data() => new("--data")
    {
        Description = "Data directory holding volumes and settings.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TESSERA_DATA") ?? DefaultDataDirectory,
        HelpName = "DIR",
    };

    /// <summary>A size option ("1GiB", "512MiB", "4096") validated at parse time.</summary>
    public static Option<string> Size(string description, string? defaultValue)
    {
        var option = new Option<string>("--size") { Description = description, HelpName = "SIZE" };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.Validators.Add(r =>
        {
            string? text = r.GetValueOrDefault<string>();
            if (text is not null && !SizeParser.TryParse(text, out _, out string? error)) r.AddError($"--size: {error}");
        });
        return option;
    }

    public static long ParseSize(string text) => SizeParser.Parse(text);
}
