using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Tests.Transport;

public sealed class InterNodeServerTests
{
    private const ushort Stuck = 190;
    private const ushort Big = 191;

    [Fact]
    public async Task StoppingTellsLinksWhyAndDoesNotWaitForStuckHandlers()
    {
        var host = new TransportHost(o => new() { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 1 });
        var never = new TaskCompletionSource<FrameStatus>();
        int entered = 0;
        host.Server.Register(Stuck, new DelegateFrameHandler((_, _, _) =>
        {
            Interlocked.Increment(ref entered);
            return new ValueTask<FrameStatus>(never.Task); // ignores cancellation on purpose
        }));

        // A raw peer ignores the advertised window of 1: its second and third requests wait in the
        // listener's input with the receive loop held back for a handler slot.
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);
        for (ulong id = 1; id <= 3; id++)
        {
            await raw.SendAsync(RawPeer.Frame(Stuck, FrameFlags.None, id, []));
        }

        PeerLink link = host.Link();
        var pending = link.SendRequestAsync(Stuck, ReadOnlyMemory<byte>.Empty).AsTask();
        await TransportHost.WaitUntil(() => Volatile.Read(ref entered) == 2, "one handler per link running");

        await host.Server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        string why = await raw.ExpectErrorThenCloseAsync(FrameStatus.ShuttingDown);
        Assert.Contains("stopping", why);
        var closed = await Assert.ThrowsAsync<PeerLinkClosedException>(() => pending);
        Assert.Contains("stopping", closed.Message);
        Assert.Equal(2, entered);
        await host.DisposeAsync();
    }

    [Fact]
    public async Task ResponseBeyondThePeersMaximumBecomesAnErrorNotAClose()
    {
        await using var host = new TransportHost();
        host.Server.Register(Big, new DelegateFrameHandler(static (frame, response, _) =>
        {
            int size = frame.Payload.Span[0] * 1024;
            response.GetSpan(size)[..size].Fill(7);
            response.Advance(size);
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        PeerLink link = host.Link(o => new() { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxPayloadLength = 64 * 1024 });

        using (Response tooBig = await link.SendRequestAsync(Big, new byte[] { 65 }))
        {
            Assert.Equal(FrameStatus.HandlerFailed, tooBig.Status);
            Assert.Contains("66560 bytes exceeds the peer's maximum payload of 65536", tooBig.ErrorMessage);
        }

        using (Response fits = await link.SendRequestAsync(Big, new byte[] { 64 }))
        {
            Assert.True(fits.IsSuccess);
            Assert.Equal(64 * 1024, fits.Payload.Length);
        }

        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task ManyLinksFromManyNodesAreServedAtOnce()
    {
        await using var host = new TransportHost();
        var links = Enumerable.Range(0, 12).Select(i => host.Link(nodeId: $"n{i}")).ToArray();

        await Task.WhenAll(links.Select(async (link, i) =>
        {
            for (int k = 0; k < 200; k++)
            {
                byte[] payload = [(byte)i, (byte)k];
                using Response response = await link.SendRequestAsync(TransportHost.Echo, payload);
                Assert.Equal(payload, response.Payload.ToArray());
            }
        }));

        Assert.Equal(12, host.Server.LinkCount);
        Assert.Equal(0, host.Server.ProtocolErrors);
    }
}
