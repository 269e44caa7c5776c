using System.Net;
using System.Net.Sockets;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Tests.Transport;

public sealed class ReconnectTests
{
    private const ushort Hold = 180;

    [Fact]
    public async Task LinkFailsInFlightRequestsWhenThePeerStopsAndReconnectsAfterItRestarts()
    {
        int port = FreePort();
        var first = new TransportHost(port: port);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        first.Server.Register(Hold, new DelegateFrameHandler(async (_, _, cancel) =>
        {
            entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancel);
            return FrameStatus.Ok;
        }));
        await using var link = new PeerLink(new IPEndPoint(IPAddress.Loopback, port), TransportHost.ClientOptions(o => new()
        {
            ClusterId = o.ClusterId,
            NodeId = o.NodeId,
            ReconnectBackoffMin = TimeSpan.FromMilliseconds(100),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(400),
        }));
        using (Response before = await link.SendRequestAsync(TransportHost.Echo, new byte[] { 1 }))
        {
            Assert.True(before.IsSuccess);
        }

        var inFlight = Enumerable.Range(0, 5).Select(_ => link.SendRequestAsync(Hold, ReadOnlyMemory<byte>.Empty).AsTask()).ToArray();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await first.DisposeAsync(); // the peer goes away with requests in flight

        foreach (var request in inFlight)
        {
            var ex = await Assert.ThrowsAsync<PeerLinkClosedException>(() => request);
            Assert.Contains("closed", ex.Message);
        }

        await TransportHost.WaitUntil(() => !link.IsConnected, "the link to notice");

        // Down: the next request tries once, fails, and the link backs off (fast failures).
        await Assert.ThrowsAsync<PeerUnavailableException>(() => link.SendRequestAsync(TransportHost.Echo, new byte[] { 2 }).AsTask());
        var fast = await Assert.ThrowsAsync<PeerUnavailableException>(() => link.SendRequestAsync(TransportHost.Echo, new byte[] { 2 }).AsTask());
        Assert.Contains("next attempt in", fast.Message);

        await using var second = new TransportHost(port: port);
        Response after = default;
        await TransportHost.WaitUntil(() =>
        {
            try
            {
                after = link.SendRequestAsync(TransportHost.Echo, new byte[] { 3 }).AsTask().GetAwaiter().GetResult();
                return true;
            }
            catch (PeerUnavailableException)
            {
                return false; // still backing off from the failures while the peer was down
            }
        }, "the link to reconnect to the restarted peer");

        using (after)
        {
            Assert.Equal(new byte[] { 3 }, after.Payload.ToArray());
        }

        Assert.Equal(2, link.Connections);
        Assert.True(link.IsConnected);
    }

    [Fact]
    public async Task LinkBacksOffBetweenFailedAttemptsAndFailsFastMeanwhile()
    {
        int port = FreePort(); // nobody listens
        await using var link = new PeerLink(new IPEndPoint(IPAddress.Loopback, port), TransportHost.ClientOptions(o => new()
        {
            ClusterId = o.ClusterId,
            NodeId = o.NodeId,
            ReconnectBackoffMin = TimeSpan.FromMilliseconds(200),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(800),
        }));

        var waits = new List<long>();
        for (int attempt = 0; attempt < 4; attempt++)
        {
            var refused = await Assert.ThrowsAsync<PeerUnavailableException>(() => link.ConnectAsync().AsTask());
            Assert.Contains("cannot connect", refused.Message);
            var fast = await Assert.ThrowsAsync<PeerUnavailableException>(() => link.ConnectAsync().AsTask());
            waits.Add(long.Parse(System.Text.RegularExpressions.Regex.Match(fast.Message, @"next attempt in (\d+) ms").Groups[1].Value));
            Assert.Contains($"after {attempt + 1} failed attempt(s)", fast.Message);
            Assert.IsType<PeerUnavailableException>(fast.InnerException);
            await TransportHost.WaitUntil(() =>
            {
                try
                {
                    link.ConnectAsync().AsTask().GetAwaiter().GetResult();
                    return true;
                }
                catch (PeerUnavailableException ex)
                {
                    return !ex.Message.Contains("next attempt in"); // an attempt was made again
                }
            }, "the backoff to elapse");
        }

        // 200, 400, 800, 800 ms; each was read some time after its failure, so at most that much.
        long[] ceilings = [200, 400, 800, 800];
        for (int i = 0; i < waits.Count; i++)
        {
            Assert.InRange(waits[i], 1, ceilings[i]);
        }
    }

    [Fact]
    public void BackoffScheduleDoublesFromMinToMax()
    {
        var options = TransportHost.ClientOptions(o => new()
        {
            ClusterId = o.ClusterId,
            NodeId = o.NodeId,
            ReconnectBackoffMin = TimeSpan.FromMilliseconds(50),
            ReconnectBackoffMax = TimeSpan.FromSeconds(1),
        });
        int[] expected = [50, 100, 200, 400, 800, 1000, 1000];
        for (int failures = 1; failures <= expected.Length; failures++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(expected[failures - 1]), PeerLink.Backoff(options, failures));
        }

        Assert.Equal(TimeSpan.FromSeconds(1), PeerLink.Backoff(options, 1000));
    }

    [Fact]
    public async Task DisposedLinkRefusesRequestsAndClosesItsConnection()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link();
        await link.ConnectAsync();
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 1, "the link to be accepted");

        await link.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => link.SendRequestAsync(TransportHost.Echo, new byte[1]).AsTask());
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 0, "the server to see the link go");
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
