namespace Tessera.Conformance.Harness;

/// <summary>Locates the repository checkout the test assembly was built from.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    public static string Root => RootLazy.Value;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tessera.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"Tessera.slnx not found above {AppContext.BaseDirectory}; run the tests from a repository checkout.");
    }
}
