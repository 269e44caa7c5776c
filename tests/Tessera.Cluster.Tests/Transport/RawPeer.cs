using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>A hand-driven peer on a plain socket, for feeding a node frames it must refuse.</summary>
internal sealed class RawPeer : IDisposable
{
    private readonly Socket _socket;

    private RawPeer(Socket socket) => _socket = socket;

    public static async Task<RawPeer> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        return new RawPeer(socket);
    }

    public static byte[] Frame(ushort type, FrameFlags flags, ulong id, ReadOnlySpan<byte> payload, byte major = ProtocolVersion.Major)
    {
        byte[] frame = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(major, ProtocolVersion.Minor, type, flags, FrameStatus.Ok, id, (uint)payload.Length).Write(frame);
        payload.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    public static byte[] HelloFrame(Guid cluster, string nodeId = "raw", byte major = ProtocolVersion.Major)
    {
        var buffer = new PooledBufferWriter();
        new Hello(cluster, nodeId, 1 << 20, 16).Write(buffer);
        return Frame(MessageType.Hello, FrameFlags.None, 0, buffer.WrittenSpan, major);
    }

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes.AsMemory(), SocketFlags.None);

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Performs a valid handshake and checks the answer.</summary>
    public async Task HandshakeAsync(Guid cluster)
    {
        await SendAsync(HelloFrame(cluster));
        var (header, _) = await ReadFrameAsync() ?? throw new InvalidOperationException("closed during handshake");
        Assert.Equal(MessageType.Hello, header.MessageType);
        Assert.Equal(FrameStatus.Ok, header.Status);
    }

    /// <summary>The next frame, or null at end of stream (or reset).</summary>
    public async Task<(FrameHeader Header, byte[] Payload)?> ReadFrameAsync(int timeoutSeconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        byte[] header = new byte[FrameHeader.Size];
        if (!await ReadExactlyAsync(header, timeout.Token))
        {
            return null;
        }

        Assert.Equal(HeaderCheck.Valid, FrameHeader.TryParse(header, out FrameHeader parsed));
        byte[] payload = new byte[parsed.PayloadLength];
        if (!await ReadExactlyAsync(payload, timeout.Token))
        {
            return null;
        }

        return (parsed, payload);
    }

    /// <summary>Reads and discards until the node closes the connection; false on timeout.</summary>
    public async Task<bool> ClosedByPeerAsync(int timeoutSeconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        byte[] sink = new byte[64 * 1024];
        try
        {
            while (await _socket.ReceiveAsync(sink, SocketFlags.None, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true; // reset: closed as well
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Expects an Error frame with <paramref name="status"/> and then the close; returns the error text.</summary>
    public async Task<string> ExpectErrorThenCloseAsync(FrameStatus status)
    {
        var frame = await ReadFrameAsync();
        Assert.True(frame.HasValue, "connection closed without an error frame");
        var (header, payload) = frame.Value;
        Assert.Equal(MessageType.Error, header.MessageType);
        Assert.Equal(status, header.Status);
        Assert.Equal(0UL, header.RequestId);
        Assert.True(await ClosedByPeerAsync(), "connection not closed after the error frame");
        return System.Text.Encoding.UTF8.GetString(payload);
    }

    public void Dispose() => _socket.Dispose();

    private async Task<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (!buffer.IsEmpty)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    return false;
                }

                buffer = buffer[n..];
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
