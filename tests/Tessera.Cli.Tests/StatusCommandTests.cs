using System.Reflection;
using System.Text;
using System.Text.Json;
using Tessera.Cli.Commands;

namespace Tessera.Cli.Tests;

/// <summary>
/// `tessera status`: reads the documented key layout (docs/metadata-store.md) from an embedded
/// store that a writer holds open, as a running `tessera up` does. The store's types are internal
/// to Tessera.Cluster, so the writer is opened by reflection and fed raw JSON records.
/// </summary>
[Collection("Console")]
public sealed class StatusCommandTests : IDisposable
{
    private const string VolumeId = "5b0c6b1e-8f63-4a55-a1ab-0a9d4c3e2f10";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "tessera-status-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.Run(args);

    /// <summary>
    /// An embedded store under DATA/metadata holding nodes 1-5 (node 6 is out), one 30-sub-unit
    /// 4+2 volume over nodes 1-6, and sub-unit u held by node u mod 6 + 1 at epoch 1.
    /// </summary>
    private async Task<IAsyncDisposable> OpenPopulatedStoreAsync()
    {
        var type = Assembly.Load("Tessera.Cluster").GetType("Tessera.Cluster.Metadata.Embedded.EmbeddedMetadataStore", throwOnError: true)!;
        object store = type.GetMethod("Open", BindingFlags.Public | BindingFlags.Static)!
            .Invoke(null, [Path.Combine(_data, "metadata"), null, null])!;
        MethodInfo put = type.GetMethod("PutAsync")!;
        async Task<long> Put(string key, string json) =>
            await (Task<long>)put.Invoke(store, [key, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(json), 0L, CancellationToken.None])!;

        var incarnation = new Dictionary<int, long>();
        for (int node = 1; node <= 5; node++)
        {
            incarnation[node] = await Put($"/tessera/nodes/{node}", $$"""{"id":"{{node}}","portal":"127.0.0.1:{{3259 + node}}","peer":"127.0.0.1:{{7000 + node}}"}""");
        }

        await Put($"/tessera/volumes/{VolumeId}", $$"""
            {"format":1,"id":"{{VolumeId}}","name":"vol0","lun":0,"sizeBytes":{{30 * 4 * 65536}},"blockSize":512,"physicalBlockSize":4096,
             "readOnly":false,"dataColumns":4,"chunkSize":65536,"stripesPerSubUnit":1,"placement":["1","2","3","4","5","6"],"created":"2030-01-01T00:00:00Z"}
            """);
        for (int u = 0; u < 30; u++)
        {
            int node = (u % 6) + 1;
            await Put($"/tessera/owners/{VolumeId}/{u:D8}", $$"""{"node":"{{node}}","epoch":1,"state":"Held","incarnation":{{incarnation.GetValueOrDefault(node, 1)}}}""");
        }

        return (IAsyncDisposable)store;
    }

    [Fact]
    public async Task Status_reads_a_store_a_running_process_holds()
    {
        await using (var writer = await OpenPopulatedStoreAsync())
        {
            var (code, output, err) = await Run("status", "--data", _data);
            Assert.Equal((0, ""), (code, err));
            string[] lines = output.Split('\n', StringSplitOptions.TrimEntries);
            Assert.StartsWith($"store: embedded {Path.Combine(Path.GetFullPath(_data), "metadata")}, held by pid {Environment.ProcessId}, revision ", lines[0]);
            Assert.Contains(lines, l => l.StartsWith("NODE") && l.Contains("STATE") && l.Contains("PORTAL") && l.Contains("INCARNATION"));
            Assert.Matches(@"^1\s+live\s+127\.0\.0\.1:3260\s+127\.0\.0\.1:7001\s+2$", lines.First(l => l.StartsWith("1 ")));
            Assert.Matches(@"^6\s+out\s+-\s+-\s+-$", lines.First(l => l.StartsWith("6 ")));
            Assert.Matches(@"^0\s+vol0\s+7680KiB\s+512/4096\s+4\+2 x 64KiB\s+30 1,2,3,4,5,6$", lines.First(l => l.StartsWith("0 ")));
            Assert.Contains("owners (node x sub-units @epochs): 1 x5 @1, 2 x5 @1, 3 x5 @1, 4 x5 @1, 5 x5 @1, 6 x5 @1 (not live)", lines);
            Assert.Contains("without a live owner: 5 sub-units (5,11,17,23,29)", lines);

            var (jsonCode, json, _) = await Run("status", "--data", _data, "--json");
            Assert.Equal(0, jsonCode);
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            Assert.True(root.GetProperty("nodesCurrent").GetBoolean());
            Assert.Equal(6, root.GetProperty("nodes").GetArrayLength());
            var volume = root.GetProperty("volumes")[0];
            Assert.Equal(("vol0", VolumeId, 30), (volume.GetProperty("name").GetString(), volume.GetProperty("id").GetString(), volume.GetProperty("subUnits").GetInt32()));
            Assert.Equal("5,11,17,23,29", volume.GetProperty("withoutLiveOwner").GetString());
            Assert.Equal(6, volume.GetProperty("owners").GetArrayLength());
        }

        // Nobody holds the store now: the registrations are left-overs of the last run.
        var (after, text, _) = await Run("status", "--data", _data);
        Assert.Equal(0, after);
        Assert.Contains("held by no running process (node registrations are from its last run)", text);
        Assert.Matches(@"(?m)^1\s+stale\s+127\.0\.0\.1:3260", text);
        Assert.Contains("without a live owner: 30 sub-units (0-29)", text);
    }

    [Theory]
    [InlineData("status", "--etcd", "not a url")]
    [InlineData("status", "--etcd", "ftp://127.0.0.1:2379")]
    [InlineData("status", "--etcd", "http://127.0.0.1:1", "--data", "somewhere")]
    [InlineData("status", "--bogus")]
    public async Task Bad_arguments_give_one_line_and_exit_code_two(params string[] args)
    {
        var (code, _, err) = await Run(args);
        Assert.Equal(2, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tessera: ", err);
    }

    [Fact]
    public async Task A_missing_store_or_an_unreachable_etcd_is_one_line_and_exit_code_one()
    {
        var (code, output, err) = await Run("status", "--data", _data);
        Assert.Equal((1, ""), (code, output));
        Assert.Equal($"tessera: no metadata store in {Path.Combine(Path.GetFullPath(_data), "metadata")} (a cluster started with `tessera up --nodes N` keeps it there)", err.Trim());
        Assert.False(Directory.Exists(_data)); // status creates nothing

        var (etcdCode, _, etcdErr) = await Run("status", "--etcd", "http://127.0.0.1:1");
        Assert.Equal(1, etcdCode);
        Assert.Single(etcdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("tessera: ", etcdErr);
    }

    [Fact]
    public async Task Status_has_help()
    {
        var (code, output, _) = await Run("status", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--etcd", output);
        Assert.Contains("--json", output);
    }
}
