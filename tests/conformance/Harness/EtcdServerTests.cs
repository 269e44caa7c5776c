using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Tessera.Conformance.Harness;

/// <summary>
/// The harness's etcd: healthy on its ports, and a key written before a SIGTERM restart is read
/// back after it (the cluster's metadata must outlive node restarts in <see cref="EtcdClusterHost"/>).
/// Talks to etcd's v3 JSON gateway directly, so it checks the harness without any Tessera code.
/// </summary>
public sealed class EtcdServerTests
{
    [Fact]
    public async Task Keeps_a_key_across_a_restart_on_the_same_ports_and_data()
    {
        var directory = Directory.CreateTempSubdirectory("tessera-etcd-harness-").FullName;
        try
        {
            await using var etcd = new EtcdServer(directory, FreePort.Next(), FreePort.Next());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            await etcd.StartAsync(CancellationToken.None);
            var url = etcd.ClientUrl;

            await PostAsync(http, $"{url}/v3/kv/put", new { key = Base64("harness"), value = Base64("kept") });
            Assert.True(await etcd.StopAsync(TimeSpan.FromSeconds(10)), "etcd did not exit on SIGTERM");

            await etcd.StartAsync(CancellationToken.None);
            Assert.Equal(url, etcd.ClientUrl);
            using var range = await PostAsync(http, $"{url}/v3/kv/range", new { key = Base64("harness") });
            var kvs = range.RootElement.GetProperty("kvs");
            Assert.Equal(1, kvs.GetArrayLength());
            Assert.Equal("kept", Encoding.UTF8.GetString(Convert.FromBase64String(kvs[0].GetProperty("value").GetString()!)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<JsonDocument> PostAsync(HttpClient http, string url, object body)
    {
        using var response = await http.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
