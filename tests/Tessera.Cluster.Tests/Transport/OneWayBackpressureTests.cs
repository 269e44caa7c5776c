using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Tests.Transport;

public sealed class OneWayBackpressureTests
{
    [Fact]
    public async Task OneWaySendersWaitWhileThePeerDoesNotReadAndResumeWhenItDoes()
    {
        // A peer that completes the handshake and then stops reading.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var startReading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long received = 0;
        Task peer = Task.Run(async () =>
        {
            using Socket socket = await listener.AcceptAsync();
            socket.ReceiveBufferSize = 64 * 1024;
            byte[] buffer = new byte[256 * 1024];
            int hello = await socket.ReceiveAsync(buffer, SocketFlags.None); // the Hello fits one read
            Assert.True(hello >= FrameHeader.Size);
            var answer = new PooledBufferWriter();
            new Hello(TransportHost.Cluster, "slow", 8 << 20, 64).Write(answer);
            await socket.SendAsync(RawPeer.Frame(MessageType.Hello, FrameFlags.Response, 0, answer.WrittenSpan), SocketFlags.None);

            await startReading.Task;
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            {
                Interlocked.Add(ref received, n);
            }
        });

        const int size = 1 << 20;
        await using var link = new PeerLink((IPEndPoint)listener.LocalEndPoint!, TransportHost.ClientOptions(o => new()
        {
            ClusterId = o.ClusterId,
            NodeId = o.NodeId,
            MaxPayloadLength = 1 << 20,
            MaxQueuedBytes = 4 << 20,
        }));
        await link.ConnectAsync();
        byte[] payload = new byte[size];

        // Socket buffers absorb some megabytes; after that the queue fills and a sender must wait.
        int sent = 0;
        ValueTask blocked = default;
        while (sent < 256)
        {
            blocked = link.SendOneWayAsync(TransportHost.Echo, payload, static (w, p) => w.Write(p));
            if (!blocked.IsCompleted)
            {
                break;
            }

            await blocked;
            sent++;
        }

        Assert.False(blocked.IsCompleted, $"{sent} MiB queued without the sender ever waiting");
        Task waiting = blocked.AsTask();
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted); // still held: the peer reads nothing

        startReading.SetResult();
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        await link.SendOneWayAsync(TransportHost.Echo, payload, static (w, p) => w.Write(p)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        long expected = (sent + 2) * (long)(size + FrameHeader.Size);
        await TransportHost.WaitUntil(() => Interlocked.Read(ref received) >= expected, "every queued byte to reach the peer", seconds: 30);
        await link.DisposeAsync();
        await peer.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
