using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Xunit.Abstractions;

namespace Tessera.Cluster.Tests.Transport;

[CollectionDefinition(nameof(TransportAllocationTests), DisableParallelization = true)]
public sealed class TransportAllocationCollection;

/// <summary>
/// Process-wide allocation per request on the steady-state path, both ends of the link in this
/// process: client staging, frame writing, send and receive loops, dispatch, handler, response.
/// Runs alone so nothing else allocates meanwhile.
/// </summary>
[Collection(nameof(TransportAllocationTests))]
public sealed class TransportAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SteadyStateRequestsAllocateNothingPerRequest()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 64 });
        await link.ConnectAsync();
        const int workers = 64, total = 40_000;
        byte[][] payloads = Enumerable.Range(0, workers).Select(i => Enumerable.Repeat((byte)i, 512).ToArray()).ToArray();
        int remaining = 0;

        async Task Worker(int w)
        {
            ReadOnlyMemory<byte> payload = payloads[w];
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                using Response response = await link.SendRequestAsync(TransportHost.Echo, payload);
                if (response.Payload.Length != payload.Length)
                {
                    throw new InvalidOperationException("echo length differs");
                }
            }
        }

        async Task Run(int count)
        {
            remaining = count;
            var tasks = new Task[workers];
            for (int w = 0; w < workers; w++)
            {
                tasks[w] = Worker(w);
            }

            await Task.WhenAll(tasks);
        }

        await Run(10_000); // warm up: tiering, pools, pipe segments
        await Run(10_000);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Run(total);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        long perRequest = allocated / total;
        output.WriteLine($"{allocated} bytes allocated over {total} requests ({(double)allocated / total:0.00} per request)");

        // Measured 0-4 B: the test's own worker state machines, the deadline timer, thread-pool queue growth.
        Assert.True(perRequest < 16, $"{perRequest} bytes allocated per request");
        Assert.Equal(1, link.Connections);
    }
}
