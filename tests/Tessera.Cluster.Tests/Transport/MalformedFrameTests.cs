using System.Buffers.Binary;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>
/// A peer that breaks the protocol loses its own link, with an Error frame saying why when the
/// stream still allows it; the node keeps serving every other link meanwhile.
/// </summary>
public sealed class MalformedFrameTests
{
    [Fact]
    public async Task BadMagicClosesOnlyThatLink()
    {
        await using var host = new TransportHost();
        PeerLink good = await ConnectedLink(host);
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);

        byte[] frame = RawPeer.Frame(TransportHost.Echo, FrameFlags.None, 1, [1, 2, 3]);
        frame[0] = (byte)'X';
        await raw.SendAsync(frame);

        string error = await raw.ExpectErrorThenCloseAsync(FrameStatus.MalformedFrame);
        Assert.Contains("magic", error);
        await AssertStillServes(good);
    }

    [Fact]
    public async Task BadHeaderCrcClosesOnlyThatLink()
    {
        await using var host = new TransportHost();
        PeerLink good = await ConnectedLink(host);
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);

        byte[] frame = RawPeer.Frame(TransportHost.Echo, FrameFlags.None, 1, [1, 2, 3]);
        frame[17] ^= 0x40; // request id bit: only the CRC can tell
        await raw.SendAsync(frame);

        string error = await raw.ExpectErrorThenCloseAsync(FrameStatus.MalformedFrame);
        Assert.Contains("CRC32C", error);
        await AssertStillServes(good);
    }

    [Fact]
    public async Task OversizedFrameIsRefusedWithoutReadingItsPayload()
    {
        await using var host = new TransportHost(o => new() { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxPayloadLength = 1 << 20 });
        PeerLink good = await ConnectedLink(host);
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);

        byte[] header = new byte[FrameHeader.Size];
        new FrameHeader(TransportHost.Echo, FrameFlags.None, FrameStatus.Ok, 1, (1 << 20) + 1).Write(header);
        await raw.SendAsync(header); // the header alone: the node must not wait for the megabyte

        string error = await raw.ExpectErrorThenCloseAsync(FrameStatus.FrameTooLarge);
        Assert.Contains("1048577", error);
        await AssertStillServes(good);
    }

    [Fact]
    public async Task TruncatedFrameClosesTheLinkWhenThePeerHangsUp()
    {
        await using var host = new TransportHost();
        PeerLink good = await ConnectedLink(host);
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);

        byte[] frame = RawPeer.Frame(TransportHost.Echo, FrameFlags.None, 1, new byte[1000]);
        await raw.SendAsync(frame[..600]);
        raw.ShutdownSend();

        Assert.True(await raw.ClosedByPeerAsync(), "the node kept a link whose peer left mid-frame");
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 1, "the truncated link to be dropped");
        await AssertStillServes(good);
    }

    [Fact]
    public async Task RequestBeforeHelloIsRefused()
    {
        await using var host = new TransportHost();
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.SendAsync(RawPeer.Frame(TransportHost.Echo, FrameFlags.None, 1, [1]));
        string error = await raw.ExpectErrorThenCloseAsync(FrameStatus.HandshakeRequired);
        Assert.Contains("Hello", error);
    }

    [Fact]
    public async Task SilentPeerIsDroppedAfterTheHandshakeTimeout()
    {
        await using var host = new TransportHost(o => new() { ClusterId = o.ClusterId, NodeId = o.NodeId, HandshakeTimeout = TimeSpan.FromMilliseconds(200) });
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.ExpectErrorThenCloseAsync(FrameStatus.HandshakeRequired);
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 0, "the silent link to be dropped");
    }

    [Fact]
    public async Task ResponseFrameOnAnInboundLinkIsRefused()
    {
        await using var host = new TransportHost();
        using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
        await raw.HandshakeAsync(TransportHost.Cluster);
        await raw.SendAsync(RawPeer.Frame(TransportHost.Echo, FrameFlags.Response, 5, []));
        await raw.ExpectErrorThenCloseAsync(FrameStatus.MalformedFrame);
    }

    [Fact]
    public async Task GarbageAndMutatedFramesNeverTakeTheNodeDown()
    {
        await using var host = new TransportHost(o => new() { ClusterId = o.ClusterId, NodeId = o.NodeId, MaxPayloadLength = 64 * 1024 });
        PeerLink good = await ConnectedLink(host);
        var random = new Random(20240917);
        int closed = 0, answered = 0;

        for (int round = 0; round < 200; round++)
        {
            using RawPeer raw = await RawPeer.ConnectAsync(host.EndPoint);
            bool handshake = random.Next(4) != 0;
            if (handshake)
            {
                await raw.HandshakeAsync(TransportHost.Cluster);
            }

            byte[] bytes = (round % 3) switch
            {
                0 => Garbage(random),
                1 => Mutated(random),
                _ => [.. Valid(random), .. Garbage(random)],
            };
            await raw.SendAsync(bytes);
            raw.ShutdownSend();

            // The node answers what it can parse and then closes: it must never hang or die.
            while (true)
            {
                var frame = await raw.ReadFrameAsync();
                if (frame is null)
                {
                    closed++;
                    break;
                }

                if (frame.Value.Header.MessageType == MessageType.Error)
                {
                    Assert.True(await raw.ClosedByPeerAsync(), $"round {round}: not closed after the error frame");
                    closed++;
                    break;
                }

                answered++;
            }

            if (round % 20 == 0)
            {
                await AssertStillServes(good);
            }
        }

        Assert.Equal(200, closed);
        Assert.True(answered > 0, "no mutated frame was ever valid enough to answer: the fuzzer is too blunt");
        await AssertStillServes(good);
        await TransportHost.WaitUntil(() => host.Server.LinkCount == 1, "all fuzzed links to be dropped");
        Assert.True(host.Server.ProtocolErrors > 100, $"{host.Server.ProtocolErrors} protocol errors counted");
    }

    private static byte[] Garbage(Random random)
    {
        byte[] bytes = new byte[random.Next(1, 4096)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Valid(Random random)
    {
        byte[] payload = new byte[random.Next(0, 200)];
        random.NextBytes(payload);
        ushort type = random.Next(2) == 0 ? TransportHost.Echo : (ushort)random.Next(100, 400);
        return RawPeer.Frame(type, FrameFlags.None, (ulong)random.Next(1, 1000), payload);
    }

    /// <summary>A few valid frames with random bytes flipped, lengths stretched or cut.</summary>
    private static byte[] Mutated(Random random)
    {
        var bytes = new List<byte>();
        int frames = random.Next(1, 5);
        for (int i = 0; i < frames; i++)
        {
            bytes.AddRange(Valid(random));
        }

        byte[] array = [.. bytes];
        int flips = random.Next(0, 4);
        for (int i = 0; i < flips; i++)
        {
            array[random.Next(array.Length)] ^= (byte)(1 << random.Next(8));
        }

        if (random.Next(4) == 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(array.AsSpan(12), (uint)random.Next());
        }

        return random.Next(4) == 0 ? array[..random.Next(1, array.Length)] : array;
    }

    private static async Task<PeerLink> ConnectedLink(TransportHost host)
    {
        PeerLink link = host.Link();
        await link.ConnectAsync();
        return link;
    }

    private static async Task AssertStillServes(PeerLink link)
    {
        using Response response = await link.SendRequestAsync(TransportHost.Echo, "still here"u8.ToArray());
        Assert.Equal("still here"u8.ToArray(), response.Payload.ToArray());
        Assert.Equal(1, link.Connections);
    }
}
