using System.Reflection;

namespace Tessera.Conformance.Harness;

/// <summary>
/// Finds the <c>tessera</c> CLI to launch: <c>TESSERA_BIN</c> if set (a .dll runs through
/// <c>dotnet</c>), else the CLI build of this test assembly's configuration, else the other
/// configuration, else it builds the CLI once.
/// </summary>
internal static class TesseraBinary
{
    public const string OverrideVariable = "TESSERA_BIN";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static Launcher? cached;

    public static async Task<Launcher> LocateAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            return cached ??= await ResolveAsync(cancellationToken);
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<Launcher> ResolveAsync(CancellationToken cancellationToken)
    {
        var overridePath = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            var full = Path.GetFullPath(overridePath);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"{OverrideVariable} points to a missing file", full);
            }

            return ForPath(full);
        }

        var configuration = OwnConfiguration();
        string[] configurations = configuration == "Release" ? ["Release", "Debug"] : [configuration, "Release"];
        foreach (var candidate in configurations.Select(DllPath))
        {
            if (File.Exists(candidate))
            {
                return ForPath(candidate);
            }
        }

        var project = Path.Combine(RepoPaths.Root, "src", "Tessera.Cli", "Tessera.Cli.csproj");
        var build = await ToolRunner.RunAsync(
            "dotnet", ["build", project, "-c", configuration, "--nologo", "-v", "q"],
            TimeSpan.FromMinutes(10), cancellationToken);
        if (build.ExitCode != 0 || !File.Exists(DllPath(configuration)))
        {
            throw new InvalidOperationException($"building the tessera CLI failed (exit {build.ExitCode}):\n{build.Output}");
        }

        return ForPath(DllPath(configuration));
    }

    private static string DllPath(string configuration) =>
        Path.Combine(RepoPaths.Root, "src", "Tessera.Cli", "bin", configuration, "net10.0", "tessera.dll");

    private static Launcher ForPath(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? new Launcher("dotnet", [path]) : new Launcher(path, []);

    private static string OwnConfiguration() =>
        typeof(TesseraBinary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BuildConfiguration")?.Value ?? "Release";
}
