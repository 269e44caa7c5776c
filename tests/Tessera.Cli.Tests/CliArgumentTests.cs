using Tessera.Cli.Commands;

namespace Tessera.Cli.Tests;

/// <summary>
/// The CLI's contract with a shell: one line on stderr and a non-zero exit code for every bad
/// argument, help everywhere, real effects for good arguments. Runs the command tree in
/// process with redirected console streams (so the class must not run in parallel).
/// </summary>
[Collection("Console")]
public class CliArgumentTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "tessera-cli-tests-" + Guid.NewGuid().ToString("N"));

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("up", "--bogus")]
    [InlineData("up", "--portal", "nonsense:99999")]
    [InlineData("up", "--size", "12zz")]
    [InlineData("up", "--nodes", "3")]
    [InlineData("volume", "create")]
    [InlineData("volume", "create", "x")]
    [InlineData("volume", "create", "x", "--size", "-5")]
    [InlineData("volume", "create", "x", "--size", "1GiB", "--block-size", "1000")]
    [InlineData("volume", "create", "x", "--size", "1GiB", "--data-columns", "1")]
    [InlineData("volume", "create", "x", "--size", "1GiB", "--data-columns", "31")]
    [InlineData("volume", "delete")]
    [InlineData("chap", "set", "--user", "alice")]
    [InlineData("bench", "parity", "--k", "1")]
    [InlineData("bench", "parity", "--size", "lots")]
    public async Task BadArgumentsGiveOneLineAndExitCodeTwo(params string[] args)
    {
        var (code, _, err) = await Run(args);
        Assert.Equal(2, code);
        string[] lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("tessera: ", lines[0]);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("up", "--help")]
    [InlineData("volume", "--help")]
    [InlineData("volume", "create", "--help")]
    [InlineData("volume", "list", "--help")]
    [InlineData("volume", "delete", "--help")]
    [InlineData("chap", "set", "--help")]
    [InlineData("bench", "parity", "--help")]
    public async Task HelpEverywhere(params string[] args)
    {
        var (code, output, _) = await Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public async Task DataColumnsAreKeptAndAClusterTooSmallForThemIsRefusedBeforeServing()
    {
        Assert.Equal(0, (await Run("volume", "create", "wide", "--size", "64MiB", "--data-columns", "6", "--data", _data)).Code);
        var (_, list, _) = await Run("volume", "list", "--data", _data);
        Assert.Contains("6+2", list);

        // 6+2 columns need 8 nodes: a 6-node cluster refuses to start rather than serve it otherwise.
        var (code, _, err) = await Run("up", "--nodes", "6", "--portal", "127.0.0.1:1", "--data", _data);
        Assert.Equal(1, code);
        Assert.Contains("wide has 6 data columns: its stripes need 8 nodes, this cluster has 6", err);
    }

    [Fact]
    public async Task ADataDirectoryKeepsItsNodeCount()
    {
        Assert.Equal(0, (await Run("volume", "create", "v", "--size", "64MiB", "--data-columns", "7", "--data", _data)).Code);
        // The first start fixes the count (and fails here: 7+2 columns need 9 nodes) ...
        Assert.Equal(1, (await Run("up", "--nodes", "8", "--portal", "127.0.0.1:1", "--data", _data)).Code);
        // ... so another count is refused with the one the directory holds.
        var (code, _, err) = await Run("up", "--nodes", "6", "--portal", "127.0.0.1:1", "--data", _data);
        Assert.Equal(2, code);
        Assert.Contains("holds a 8-node layout; start it with --nodes 8", err);
    }

    [Fact]
    public async Task VolumeLifecycle()
    {
        Assert.Equal(0, (await Run("volume", "create", "db", "--size", "64MiB", "--data", _data)).Code);
        Assert.Equal(0, (await Run("volume", "create", "logs", "--size", "8MiB", "--read-only", "--data", _data)).Code);
        var (code, list, _) = await Run("volume", "list", "--data", _data);
        Assert.Equal(0, code);
        Assert.Contains("db", list);
        Assert.Contains("64MiB", list);
        Assert.Contains("ro", list);

        // Failures that are not usage errors: exit code 1, one line.
        var duplicate = await Run("volume", "create", "db", "--size", "1MiB", "--data", _data);
        Assert.Equal(1, duplicate.Code);
        Assert.Single(duplicate.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var badName = await Run("volume", "create", "no/slashes", "--size", "1MiB", "--data", _data);
        Assert.Equal(1, badName.Code);
        Assert.Contains("invalid volume name", badName.Err);

        Assert.Equal(0, (await Run("volume", "delete", "db", "--data", _data)).Code);
        var missing = await Run("volume", "delete", "db", "--data", _data);
        Assert.Equal(1, missing.Code);
        Assert.Contains("no volume named 'db'", missing.Err);
    }

    [Fact]
    public async Task ChapSettingsAreValidated()
    {
        var weak = await Run("chap", "set", "--user", "alice", "--secret", "short", "--data", _data);
        Assert.NotEqual(0, weak.Code);
        Assert.Single(weak.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(0, (await Run("chap", "set", "--user", "alice", "--secret", "long-enough-secret", "--data", _data)).Code);
        Assert.Contains("\"alice\"", File.ReadAllText(Path.Combine(_data, "node.json")));
        Assert.Equal(0, (await Run("chap", "clear", "--data", _data)).Code);
    }

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
