using System.Net;
using System.Net.Sockets;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Tests.Transport;

public sealed class HandshakeTests
{
    [Fact]
    public async Task OtherClusterIdIsRefusedByTheListener()
    {
        await using var host = new TransportHost();
        var stranger = new Guid("00000000-0000-0000-0000-0000000000aa");
        await using var link = new PeerLink(host.EndPoint, new InterNodeOptions { ClusterId = stranger, NodeId = "stranger" });

        var ex = await Assert.ThrowsAsync<HandshakeRejectedException>(() => link.ConnectAsync().AsTask());
        Assert.Equal(FrameStatus.ClusterMismatch, ex.Status);
        Assert.Contains(stranger.ToString(), ex.Message);
        Assert.False(link.IsConnected);
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 0, "the refused link to close");

        // A request on the refused link fails fast during backoff, naming the refusal.
        var again = await Assert.ThrowsAsync<PeerUnavailableException>(() => link.SendRequestAsync(TransportHost.Echo, new byte[1]).AsTask());
        Assert.Contains("handshake refused", again.Message);
    }

    [Fact]
    public async Task RawHelloWithOtherClusterGetsAnExplicitRefusal()
    {
        await using var host = new TransportHost();
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.SendAsync(RawPeer.HelloFrame(Guid.Empty));

        var frame = await raw.ReadFrameAsync();
        Assert.NotNull(frame);
        Assert.Equal(MessageType.Hello, frame.Value.Header.MessageType);
        Assert.True(frame.Value.Header.IsResponse);
        Assert.Equal(FrameStatus.ClusterMismatch, frame.Value.Header.Status);
        Assert.True(await raw.ClosedByPeerAsync());
    }

    [Fact]
    public async Task OtherMajorVersionIsRefusedWithAnErrorFrameThenClose()
    {
        await using var host = new TransportHost();
        PeerLink good = host.Link();
        await good.ConnectAsync();
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);

        await raw.SendAsync(RawPeer.HelloFrame(TransportHost.Cluster, major: 2));

        string error = await raw.ExpectErrorThenCloseAsync(FrameStatus.UnsupportedVersion);
        Assert.Contains("version 2.0 is not supported", error);
        Assert.Contains($"speaks {ProtocolVersion.Major}.{ProtocolVersion.Minor}", error);
        using Response still = await good.PingAsync();
        Assert.True(still.IsSuccess);
    }

    [Fact]
    public async Task OtherMajorVersionMidStreamIsRefusedToo()
    {
        await using var host = new TransportHost();
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);
        await raw.SendAsync(RawPeer.Frame(TransportHost.Echo, FrameFlags.None, 1, [1], major: 7));
        await raw.ExpectErrorThenCloseAsync(FrameStatus.UnsupportedVersion);
    }

    [Fact]
    public async Task LinkUnderstandsAFutureVersionPeerRefusingIt()
    {
        // A node of major version 2 refuses our Hello with an Error frame in its own version.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        Task fakePeer = Task.Run(async () =>
        {
            using Socket peer = await listener.AcceptAsync();
            byte[] hello = new byte[1024];
            await peer.ReceiveAsync(hello, SocketFlags.None);
            byte[] text = "this node speaks 2.1 only"u8.ToArray();
            byte[] error = new byte[FrameHeader.Size + text.Length];
            new FrameHeader(2, 1, MessageType.Error, FrameFlags.None, FrameStatus.UnsupportedVersion, 0, (uint)text.Length).Write(error);
            text.CopyTo(error, FrameHeader.Size);
            await peer.SendAsync(error, SocketFlags.None);
            peer.Shutdown(SocketShutdown.Send);
            while (await peer.ReceiveAsync(hello, SocketFlags.None) > 0)
            {
            }
        });
        await using var link = new PeerLink((IPEndPoint)listener.LocalEndPoint!, TransportHost.ClientOptions());

        var ex = await Assert.ThrowsAsync<HandshakeRejectedException>(() => link.ConnectAsync().AsTask());
        Assert.Equal(FrameStatus.UnsupportedVersion, ex.Status);
        Assert.Contains("speaks 2.1 only", ex.Message);
        await fakePeer.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task HandshakeExchangesNodeIdsBothWays()
    {
        await using var host = new TransportHost();
        string? seen = null;
        host.Server.Register(170, new Tessera.Cluster.Transport.Server.DelegateFrameHandler((frame, _, _) =>
        {
            seen = frame.RemoteNodeId;
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        PeerLink link = host.Link(nodeId: "node-4");
        using Response response = await link.SendRequestAsync(170, ReadOnlyMemory<byte>.Empty);

        Assert.Equal("node-4", seen);
        Assert.Equal("server", link.RemoteNodeId);
    }
}
