using System.Diagnostics;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>
/// Round-trip latency and throughput over loopback, printed for the record (run with
/// <c>--logger "console;verbosity=detailed"</c>, ideally <c>-c Release</c>). Asserts only that
/// every byte came back; timing goals belong to bench/.
/// </summary>
[Collection(nameof(TransportAllocationTests))]
public sealed class LoopbackMeasurements(ITestOutputHelper output)
{
    [Fact]
    public async Task RoundTripLatencyAndThroughput()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 64 });
        await link.ConnectAsync();

        await Latency(link, "ping (empty)", ReadOnlyMemory<byte>.Empty, ping: true);
        await Latency(link, "echo 64 B", new byte[64], ping: false);
        await Latency(link, "echo 4 KiB", new byte[4096], ping: false);
        await Throughput(link, "echo 4 KiB", 4096, inFlight: 64, count: 40_000);
        await Throughput(link, "echo 64 KiB", 64 * 1024, inFlight: 16, count: 4_000);
        await Throughput(link, "echo 1 MiB", 1 << 20, inFlight: 8, count: 300);
    }

    private async Task Latency(PeerLink link, string what, ReadOnlyMemory<byte> payload, bool ping)
    {
        const int warmup = 2_000, count = 10_000;
        var samples = new double[count];
        for (int i = -warmup; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using Response response = ping ? await link.PingAsync() : await link.SendRequestAsync(TransportHost.Echo, payload);
            Assert.Equal(payload.Length, response.Payload.Length);
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        output.WriteLine($"latency  {what,-14} sequential: p50 {samples[count / 2],7:0.0} µs  p99 {samples[count * 99 / 100],7:0.0} µs  mean {samples.Average(),7:0.0} µs");
    }

    private async Task Throughput(PeerLink link, string what, int size, int inFlight, int count)
    {
        byte[] payload = new byte[size];
        new Random(size).NextBytes(payload);
        int remaining = count / 10;
        async Task Worker()
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                using Response response = await link.SendRequestAsync(TransportHost.Echo, payload);
                Assert.True(response.Span.SequenceEqual(payload), "echo differs");
            }
        }

        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Worker())); // warm-up
        remaining = count;
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Worker()));
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        double perSecond = count / seconds;
        output.WriteLine(
            $"through  {what,-14} {inFlight,2} in flight: {perSecond,9:0} req/s  {perSecond * size / 1e6,7:0} MB/s each way");
    }
}
