using System.Security.Cryptography;
using Tessera.Conformance.Harness;

namespace Tessera.Conformance.RealClient;

/// <summary>
/// QEMU's own iSCSI client (libiscsi inside qemu-img) writes 256 MiB of random data to the LU
/// and reads it back byte-identical; after a <c>kill -9</c> and restart of the target on the
/// same data directory the data is still there, and again after a SIGTERM stop and restart. qemu-img closes the image with a flush
/// (SYNCHRONIZE CACHE), so the node acknowledged every byte as durable before the kill.
/// </summary>
public sealed class QemuImgRoundTripTests(ITestOutputHelper output)
{
    private const long ImageBytes = 256 * Sizes.MiB;
    private const int Seed = 0x7E55E4A;
    private static readonly TimeSpan QemuTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Random_256MiB_written_by_qemu_img_reads_back_identical_across_kill_9_and_SIGTERM_restarts()
    {
        await using var host = TargetHosts.Create();
        await RoundTripAsync(host, readThrough: url => url);
    }

    /// <summary>
    /// Issue 5: written through node 1 of a 6-node cluster (one process), read through node 5 — the
    /// data crosses the distributed volume's owners and chunk stores — and again after kill -9 of the
    /// whole process and after SIGTERM.
    /// </summary>
    [Fact]
    public async Task Random_256MiB_written_through_node_1_of_a_cluster_reads_back_identical_through_node_5_across_restarts()
    {
        await using var host = new TesseraNodeHost(Sizes.GiB, nodes: 6);
        await RoundTripAsync(host, readThrough: url => host.ThroughNode(url, 5));
    }

    /// <summary>
    /// Issue 5 on etcd: six <c>tessera node</c> processes; written through node 1, read through node
    /// 5, again after <c>kill -9</c> of every node process (etcd keeps running, as a cluster's store
    /// would) and after SIGTERM of all of them.
    /// </summary>
    [Fact]
    public async Task Random_256MiB_written_through_node_1_of_six_processes_reads_back_identical_through_node_5_across_restarts()
    {
        await using var host = new EtcdClusterHost(Sizes.GiB, nodes: 6);
        await RoundTripAsync(host, readThrough: url => host.ThroughNode(url, 5));
    }

    private async Task RoundTripAsync(ITargetHost host, Func<string, string> readThrough)
    {
        var scratch = Directory.CreateTempSubdirectory("tessera-qemu-").FullName;
        try
        {
            var source = Path.Combine(scratch, "random.img");
            var written = await WriteRandomImageAsync(source);
            output.WriteLine($"source sha256 {written}");

            await TargetHosts.WithTargetLogOnFailureAsync(host, output, async () =>
            {
                await host.StartAsync(CancellationToken.None);
                var url = host.LunUrl;
                var readUrl = readThrough(url);

                await QemuImgAsync(["convert", "-n", "-f", "raw", "-O", "raw", source, url]);
                Assert.Equal(written, await ReadBackAsync(readUrl, Path.Combine(scratch, "readback.raw")));

                host.KillHard();
                await host.StartAsync(CancellationToken.None);
                Assert.Equal(url, host.LunUrl);
                Assert.Equal(written, await ReadBackAsync(readUrl, Path.Combine(scratch, "after-kill.raw")));

                // And the clean way: SIGTERM, which must end the target promptly, then restart.
                Assert.True(await host.StopAsync(), $"{host.Name} did not exit within the grace period after SIGTERM");
                await host.StartAsync(CancellationToken.None);
                Assert.Equal(written, await ReadBackAsync(readUrl, Path.Combine(scratch, "after-sigterm.raw")));
            });
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static async Task<string> WriteRandomImageAsync(string path)
    {
        var random = new Random(Seed);
        var buffer = new byte[4 * Sizes.MiB];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        for (long done = 0; done < ImageBytes; done += buffer.Length)
        {
            random.NextBytes(buffer);
            sha.AppendData(buffer);
            await file.WriteAsync(buffer);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>Reads exactly the written length back (the LU is larger) and hashes it.</summary>
    private async Task<string> ReadBackAsync(string url, string path)
    {
        await QemuImgAsync(["dd", "-f", "raw", "-O", "raw", "bs=1M", $"count={ImageBytes / Sizes.MiB}", $"if={url}", $"of={path}"]);
        Assert.Equal(ImageBytes, new FileInfo(path).Length);
        await using var file = File.OpenRead(path);
        var hash = Convert.ToHexString(await SHA256.HashDataAsync(file));
        File.Delete(path);
        return hash;
    }

    private async Task QemuImgAsync(IReadOnlyList<string> arguments)
    {
        var result = await ToolRunner.RunAsync("qemu-img", arguments, QemuTimeout, CancellationToken.None);
        output.WriteLine($"$ qemu-img {string.Join(' ', arguments)}  ({result.Elapsed.TotalSeconds:0.0}s, exit {result.ExitCode})");
        Assert.True(result.Succeeded, $"qemu-img {arguments[0]} failed (exit {result.ExitCode}{(result.TimedOut ? ", timed out" : string.Empty)}):\n{result.Output}");
    }
}
