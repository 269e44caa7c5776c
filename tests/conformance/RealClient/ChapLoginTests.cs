using System.Text.RegularExpressions;
using Tessera.Conformance.Harness;

namespace Tessera.Conformance.RealClient;

/// <summary>
/// QEMU's libiscsi client against a target that requires one-way CHAP: the right secret in the
/// URL (<c>iscsi://user%secret@…</c>) logs in and sees the LU; a wrong secret or none is refused
/// with the login status "Authentication failure" (RFC 7143 11.13.5, status class 0x02, detail 0x01).
/// </summary>
public sealed partial class ChapLoginTests(ITestOutputHelper output)
{
    private const string User = "tessera-conformance";
    private const string Secret = "right-secret-0123";
    private const long LunBytes = 64 * Sizes.MiB;

    [Fact]
    public async Task Qemu_logs_in_with_the_CHAP_secret_and_is_refused_without_it()
    {
        await using var host = TargetHosts.Create(LunBytes);
        await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
        {
            await host.RequireChapAsync(User, Secret, CancellationToken.None);
            await host.StartAsync(CancellationToken.None);

            var granted = await InfoAsync(WithCredentials(host.LunUrl, User, Secret));
            Assert.True(granted.Succeeded, $"login with the right secret failed:\n{granted.Output}");
            Assert.Equal(LunBytes.ToString(), VirtualSize().Match(granted.Output).Groups[1].Value);

            var wrongSecret = await InfoAsync(WithCredentials(host.LunUrl, User, "wrong-secret-0123"));
            Assert.False(wrongSecret.Succeeded, $"login with a wrong secret succeeded:\n{wrongSecret.Output}");
            Assert.Contains("Authentication failure", wrongSecret.Output, StringComparison.Ordinal);

            var noCredentials = await InfoAsync(host.LunUrl);
            Assert.False(noCredentials.Succeeded, $"login without CHAP succeeded:\n{noCredentials.Output}");
            Assert.Contains("Authentication failure", noCredentials.Output, StringComparison.Ordinal);
        });
    }

    private async Task<ToolResult> InfoAsync(string url)
    {
        var result = await ToolRunner.RunAsync(
            "qemu-img", ["info", "--output=json", "-f", "raw", url], TimeSpan.FromMinutes(2), CancellationToken.None);
        output.WriteLine($"$ qemu-img info {Regex.Replace(url, "%[^@]*@", "%***@")}  (exit {result.ExitCode}, {result.Elapsed.TotalSeconds:0.0}s)");
        return result;
    }

    private static string WithCredentials(string url, string user, string secret) =>
        url.Replace("iscsi://", $"iscsi://{user}%{secret}@", StringComparison.Ordinal);

    [GeneratedRegex("\"virtual-size\":\\s*(\\d+)")]
    private static partial Regex VirtualSize();
}
