using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Tests.Transport;

public sealed class PeerLinkTests
{
    private const ushort Blocking = 160;
    private const ushort Throwing = 161;
    private const ushort AppStatus = 162;
    private const ushort Sum = 163;

    [Fact]
    public async Task RequestRoundTripsWithItsPayloadAndPeerIdentity()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link();

        using (Response response = await link.SendRequestAsync(TransportHost.Echo, "hello, node"u8.ToArray()))
        {
            response.ThrowIfError();
            Assert.Equal("hello, node"u8.ToArray(), response.Payload.ToArray());
        }

        Assert.Equal("server", link.RemoteNodeId);
        Assert.True(link.IsConnected);
        using (Response pong = await link.PingAsync())
        {
            Assert.Equal(FrameStatus.Ok, pong.Status);
            Assert.True(pong.Payload.IsEmpty);
        }

        using (Response empty = await link.SendRequestAsync(TransportHost.Echo, ReadOnlyMemory<byte>.Empty))
        {
            Assert.True(empty.IsSuccess);
            Assert.Equal(0, empty.Payload.Length);
        }

        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task TenThousandConcurrentRequestsOverOneLinkEachGetTheirOwnResponse()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 64 });
        await link.ConnectAsync();
        const int total = 10_000, workers = 64;
        int next = -1, maxInFlight = 0;
        var seen = new bool[total];

        async Task Worker()
        {
            byte[] payload = new byte[24];
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                BinaryPrimitives.WriteInt32BigEndian(payload, i);
                payload.AsSpan(4).Fill((byte)i);
                using Response response = await link.SendRequestAsync(TransportHost.Echo, payload);
                response.ThrowIfError();
                Assert.Equal(payload, response.Payload.ToArray());
                seen[i] = true;
                int inFlight = link.InFlight;
                int observed;
                while (inFlight > (observed = Volatile.Read(ref maxInFlight)) && Interlocked.CompareExchange(ref maxInFlight, inFlight, observed) != observed)
                {
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(Worker)));

        Assert.All(seen, Assert.True);
        Assert.InRange(maxInFlight, 1, 64);
        Assert.Equal(0, link.InFlight);
        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task OneMebibytePayloadsTravelIntactBothWays()
    {
        await using var host = new TransportHost();
        host.Server.Register(Sum, new DelegateFrameHandler(static (frame, response, _) =>
        {
            // Answer with a different 1 MiB so both directions carry distinct large payloads.
            Span<byte> out1 = response.GetSpan(frame.Payload.Length);
            ReadOnlySpan<byte> input = frame.Payload.Span;
            for (int i = 0; i < input.Length; i++)
            {
                out1[i] = (byte)~input[input.Length - 1 - i];
            }

            response.Advance(input.Length);
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        PeerLink link = host.Link();
        var random = new Random(5);
        var sends = Enumerable.Range(0, 8).Select(async _ =>
        {
            byte[] data = new byte[1 << 20];
            lock (random)
            {
                random.NextBytes(data);
            }

            using Response response = await link.SendRequestAsync(Sum, data);
            response.ThrowIfError();
            byte[] expected = data.Reverse().Select(b => (byte)~b).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(response.Span), "1 MiB response differs");
        });
        await Task.WhenAll(sends);
    }

    [Fact]
    public async Task SendersWaitWhenTheWindowIsFull()
    {
        await using var host = new TransportHost();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = 0, maxRunning = 0;
        host.Server.Register(Blocking, new DelegateFrameHandler(async (frame, response, _) =>
        {
            int now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            await release.Task;
            Interlocked.Decrement(ref running);
            response.Write(frame.Payload.Span);
            return FrameStatus.Ok;
        }));
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 4 });
        await link.ConnectAsync();

        var sends = Enumerable.Range(0, 10).Select(i => link.SendRequestAsync(Blocking, new[] { (byte)i }).AsTask()).ToArray();

        await TransportHost.WaitUntil(() => Volatile.Read(ref running) == 4 && link.WaitingForWindow == 6, "4 running handlers and 6 waiting senders");
        Assert.Equal(4, link.InFlight);
        Assert.All(sends, s => Assert.False(s.IsCompleted));

        release.SetResult();
        Response[] responses = await Task.WhenAll(sends);
        for (int i = 0; i < responses.Length; i++)
        {
            Assert.Equal(new[] { (byte)i }, responses[i].Payload.ToArray());
            responses[i].Dispose();
        }

        Assert.Equal(4, maxRunning);
        Assert.Equal(0, link.WaitingForWindow);
    }

    [Fact]
    public async Task WindowIsTheSmallerOfBothPeersAndTheServerNeverRunsMore()
    {
        await using var host = new TransportHost(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 3 });
        int running = 0, maxRunning = 0;
        host.Server.Register(Blocking, new DelegateFrameHandler(async (frame, response, _) =>
        {
            InterlockedMax(ref maxRunning, Interlocked.Increment(ref running));
            await Task.Delay(2);
            Interlocked.Decrement(ref running);
            return FrameStatus.Ok;
        }));
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 64 });
        await link.ConnectAsync();
        Assert.Equal(3, link.Window);

        await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ => (await link.SendRequestAsync(Blocking, ReadOnlyMemory<byte>.Empty)).Dispose()));
        Assert.InRange(maxRunning, 1, 3);
    }

    [Fact]
    public async Task HandlerExceptionsBecomeErrorResponsesAndTheLinkGoesOn()
    {
        await using var host = new TransportHost();
        host.Server.Register(Throwing, new DelegateFrameHandler(static (frame, response, _) =>
        {
            response.Write("partial"u8);
            if (frame.Payload.Span[0] == 1)
            {
                throw new InvalidOperationException("disk on fire");
            }

            return AsyncThrow();

            static async ValueTask<FrameStatus> AsyncThrow()
            {
                await Task.Yield();
                throw new IOException("late failure");
            }
        }));
        PeerLink link = host.Link();

        using (Response sync = await link.SendRequestAsync(Throwing, new byte[] { 1 }))
        {
            Assert.Equal(FrameStatus.HandlerFailed, sync.Status);
            Assert.Equal("InvalidOperationException: disk on fire", sync.ErrorMessage);
            var ex = Assert.Throws<RemoteFrameException>(sync.ThrowIfError);
            Assert.Equal(FrameStatus.HandlerFailed, ex.Status);
            Assert.Contains("disk on fire", ex.Message);
        }

        using (Response late = await link.SendRequestAsync(Throwing, new byte[] { 2 }))
        {
            Assert.Equal(FrameStatus.HandlerFailed, late.Status);
            Assert.Equal("IOException: late failure", late.ErrorMessage);
        }

        using (Response echo = await link.SendRequestAsync(TransportHost.Echo, new byte[] { 9 }))
        {
            Assert.Equal(new byte[] { 9 }, echo.Payload.ToArray());
        }

        Assert.Equal(2, host.Server.HandlerFailures);
        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task UnknownMessageTypeGetsAnErrorResponseNotAClose()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link();

        using (Response response = await link.SendRequestAsync(199, new byte[] { 1, 2, 3 }))
        {
            Assert.Equal(FrameStatus.UnknownMessageType, response.Status);
            Assert.Contains("199", response.ErrorMessage);
        }

        using (Response echo = await link.SendRequestAsync(TransportHost.Echo, new byte[] { 7 }))
        {
            Assert.True(echo.IsSuccess);
        }

        Assert.Equal(1, link.Connections);
        Assert.Equal(1, host.Server.UnknownTypeRequests);
    }

    [Fact]
    public async Task ApplicationStatusAndPayloadPassThrough()
    {
        await using var host = new TransportHost();
        host.Server.Register(AppStatus, new DelegateFrameHandler(static (frame, response, _) =>
        {
            response.Write("epoch 7"u8);
            return ValueTask.FromResult(FrameStatus.ApplicationBase + 3);
        }));
        PeerLink link = host.Link();

        using Response response = await link.SendRequestAsync(AppStatus, ReadOnlyMemory<byte>.Empty);
        Assert.Equal(FrameStatus.ApplicationBase + 3, response.Status);
        Assert.Equal("epoch 7"u8.ToArray(), response.Payload.ToArray());
        var ex = Assert.Throws<RemoteFrameException>(response.ThrowIfError);
        Assert.Contains("0x103", ex.Message);
    }

    [Fact]
    public async Task RequestWithoutResponseTimesOutAndFreesItsWindowSlot()
    {
        await using var host = new TransportHost();
        host.Server.Register(Blocking, new DelegateFrameHandler(static async (frame, response, cancel) =>
        {
            await Task.Delay(Timeout.Infinite, cancel);
            return FrameStatus.Ok;
        }));
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 2 });

        for (int round = 0; round < 3; round++)
        {
            var a = link.SendRequestAsync(Blocking, ReadOnlyMemory<byte>.Empty, TimeSpan.FromMilliseconds(200)).AsTask();
            var b = link.SendRequestAsync(Blocking, ReadOnlyMemory<byte>.Empty, TimeSpan.FromMilliseconds(200)).AsTask();
            var ex = await Assert.ThrowsAsync<RequestTimeoutException>(() => a);
            Assert.Contains("200 ms", ex.Message);
            await Assert.ThrowsAsync<RequestTimeoutException>(() => b);
        }

        // Both slots came back each round, and the link is still up.
        using Response echo = await link.SendRequestAsync(TransportHost.Echo, new byte[] { 1 }, TimeSpan.FromSeconds(10));
        Assert.True(echo.IsSuccess);
        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task WaitingForAFullWindowCountsAgainstTheTimeout()
    {
        await using var host = new TransportHost();
        host.Server.Register(Blocking, new DelegateFrameHandler(static async (frame, response, cancel) =>
        {
            await Task.Delay(Timeout.Infinite, cancel);
            return FrameStatus.Ok;
        }));
        PeerLink link = host.Link(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxInFlight = 1 });
        var first = link.SendRequestAsync(Blocking, ReadOnlyMemory<byte>.Empty, TimeSpan.FromSeconds(30)).AsTask();
        await TransportHost.WaitUntil(() => link.InFlight == 1, "the first request in flight");

        var ex = await Assert.ThrowsAsync<RequestTimeoutException>(() =>
            link.SendRequestAsync(TransportHost.Echo, ReadOnlyMemory<byte>.Empty, TimeSpan.FromMilliseconds(150)).AsTask());
        Assert.Contains("window", ex.Message);
        Assert.False(first.IsCompleted);
    }

    [Fact]
    public async Task OversizedOutboundPayloadIsRefusedBeforeSending()
    {
        await using var host = new TransportHost(o => new InterNodeOptions { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxPayloadLength = 64 * 1024 });
        PeerLink link = host.Link();
        await link.ConnectAsync();

        var ex = await Assert.ThrowsAsync<FrameTooLargeException>(() => link.SendRequestAsync(TransportHost.Echo, new byte[64 * 1024 + 1]).AsTask());
        Assert.Contains("65536", ex.Message);
        using Response ok = await link.SendRequestAsync(TransportHost.Echo, new byte[64 * 1024]);
        Assert.Equal(64 * 1024, ok.Payload.Length);
        Assert.Equal(1, link.Connections);
    }

    [Fact]
    public async Task ControlMessageTypesAreReserved()
    {
        await using var host = new TransportHost();
        PeerLink link = host.Link();
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = link.SendRequestAsync(MessageType.Hello, ReadOnlyMemory<byte>.Empty); });
        Assert.Throws<ArgumentOutOfRangeException>(() => host.Server.Register(42, new DelegateFrameHandler((_, _, _) => default)));
        Assert.Throws<InvalidOperationException>(() => host.Server.Register(TransportHost.Echo, new DelegateFrameHandler((_, _, _) => default)));
    }

    [Fact]
    public async Task OneWayMessagesReachTheirHandlerWithoutResponses()
    {
        await using var host = new TransportHost();
        long total = 0;
        int count = 0;
        var senders = new System.Collections.Concurrent.ConcurrentBag<string>();
        host.Server.Register(Sum, new DelegateFrameHandler((frame, response, _) =>
        {
            Assert.True(frame.IsOneWay);
            senders.Add(frame.RemoteNodeId);
            Interlocked.Add(ref total, BinaryPrimitives.ReadInt64BigEndian(frame.Payload.Span));
            Interlocked.Increment(ref count);
            response.Write("ignored"u8);
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        PeerLink link = host.Link(nodeId: "n7");

        for (long i = 1; i <= 500; i++)
        {
            await link.SendOneWayAsync(Sum, i, static (w, v) =>
            {
                BinaryPrimitives.WriteInt64BigEndian(w.GetSpan(8), v);
                w.Advance(8);
            });
        }

        for (long i = 501; i <= 1000; i++)
        {
            link.Post(Sum, i, static (w, v) =>
            {
                BinaryPrimitives.WriteInt64BigEndian(w.GetSpan(8), v);
                w.Advance(8);
            });
        }

        await TransportHost.WaitUntil(() => Volatile.Read(ref count) == 1000, "1000 one-way messages");
        Assert.Equal(1000L * 1001 / 2, Interlocked.Read(ref total));
        Assert.All(senders, s => Assert.Equal("n7", s));
        Assert.Equal(0, link.PostFailures);

        // The responses were not sent: a request right after gets its own answer.
        using Response echo = await link.SendRequestAsync(TransportHost.Echo, new byte[] { 3 });
        Assert.Equal(new byte[] { 3 }, echo.Payload.ToArray());
    }

    [Fact]
    public async Task PostBeforeConnectingConnectsInTheBackground()
    {
        await using var host = new TransportHost();
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Server.Register(Sum, new DelegateFrameHandler((frame, _, _) =>
        {
            got.TrySetResult(frame.Payload.ToArray());
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        PeerLink link = host.Link();
        Assert.False(link.IsConnected);

        link.Post(Sum, new byte[] { 4, 2 }, static (w, p) => w.Write(p));

        Assert.Equal(new byte[] { 4, 2 }, await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(link.IsConnected);
    }

    internal static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
