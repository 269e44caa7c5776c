using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tessera.Iscsi.Protocol;
using Tessera.Hashing;

namespace Tessera.Iscsi.Tests.Support;

/// <summary>
/// A deliberately small, raw iSCSI initiator for tests: it can send any bytes, including
/// malformed PDUs, and reads PDUs back one at a time.
/// </summary>
internal sealed class TestInitiator : IAsyncDisposable
{
    public const string TargetName = "iqn.2026-11.io.tessera:test";
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private uint _itt = 0x100;

    private TestInitiator(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public uint CmdSN { get; set; }
    public uint ExpStatSN { get; set; }
    public bool HeaderDigest { get; set; }
    public bool DataDigest { get; set; }
    public int MaxSendDataSegment { get; set; } = 8192;
    public ushort Tsih { get; private set; }

    public static async Task<TestInitiator> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return new TestInitiator(socket);
    }

    public uint NextItt() => _itt++;

    public static byte[] Header(Opcode opcode, byte flags, bool immediate = false)
    {
        var h = new byte[48];
        h[0] = (byte)((byte)opcode | (immediate ? 0x40 : 0));
        h[1] = flags;
        return h;
    }

    public static byte[] Text(params (string Key, string Value)[] keys)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in keys) sb.Append(k).Append('=').Append(v).Append('\0');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Sends a PDU; the data segment length field is set from <paramref name="data"/> unless told otherwise.</summary>
    public async Task SendAsync(byte[] header, byte[]? data = null, int? claimedLength = null)
    {
        data ??= [];
        int len = claimedLength ?? data.Length;
        header[5] = (byte)(len >> 16);
        header[6] = (byte)(len >> 8);
        header[7] = (byte)len;
        var buffer = new MemoryStream();
        buffer.Write(header);
        if (HeaderDigest)
        {
            var d = new byte[4];
            Crc32C.Write(d, Crc32C.Compute(header));
            buffer.Write(d);
        }
        if (data.Length > 0)
        {
            int padded = (data.Length + 3) & ~3;
            var payload = new byte[padded];
            data.CopyTo(payload, 0);
            buffer.Write(payload);
            if (DataDigest)
            {
                var d = new byte[4];
                Crc32C.Write(d, Crc32C.Compute(payload));
                buffer.Write(d);
            }
        }
        await _stream.WriteAsync(buffer.ToArray());
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    /// <summary>Reads one PDU; null when nothing arrives in time; throws EndOfStreamException when closed.</summary>
    public async Task<Pdu?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var header = new byte[48];
        try
        {
            await _stream.ReadExactlyAsync(header, cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        int ahs = header[4] * 4;
        if (ahs > 0) await _stream.ReadExactlyAsync(new byte[ahs]);
        if (HeaderDigest) await _stream.ReadExactlyAsync(new byte[4]);
        int len = (header[5] << 16) | (header[6] << 8) | header[7];
        var data = new byte[(len + 3) & ~3];
        await _stream.ReadExactlyAsync(data);
        if (len > 0 && DataDigest) await _stream.ReadExactlyAsync(new byte[4]);
        var pdu = new Pdu(header, data[..len]);
        if (pdu.Opcode is Opcode.ScsiResponse or Opcode.LoginResponse or Opcode.TextResponse or Opcode.LogoutResponse
            or Opcode.TaskManagementResponse or Opcode.Reject || (pdu.Opcode == Opcode.DataIn && (pdu.Flags & 1) != 0)
            || (pdu.Opcode == Opcode.NopIn && pdu.Itt != Bhs.ReservedTag))
            ExpStatSN = pdu.StatSN + 1;
        return pdu;
    }

    /// <summary>True when the target closed the connection within the timeout.</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var pdu = await ReceiveAsync(deadline - DateTime.UtcNow);
                if (pdu is null) return false;
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or SocketException)
        {
            return true;
        }
        return false;
    }

    public byte[] LoginHeader(ulong isid, int csg, int nsg, bool transit, ushort tsih = 0)
    {
        var h = Header(Opcode.LoginRequest, (byte)((transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0)), immediate: true);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(8), (ushort)(isid >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(10), (uint)isid);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(14), tsih);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), NextItt());
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(28), ExpStatSN);
        return h;
    }

    /// <summary>One-PDU login straight to full feature phase (operational stage only).</summary>
    public async Task<Pdu> LoginAsync(string initiatorName = "iqn.2026-11.test:init1", ulong isid = 0x800000000001,
        string sessionType = "Normal", params (string, string)[] extra)
    {
        var keys = new List<(string, string)> { ("InitiatorName", initiatorName), ("SessionType", sessionType) };
        if (sessionType == "Normal") keys.Add(("TargetName", TargetName));
        keys.AddRange(extra);
        await SendAsync(LoginHeader(isid, 1, 3, transit: true), Text([.. keys]));
        var response = await ReceiveAsync() ?? throw new TimeoutException("no login response");
        Tsih = response.Tsih;
        if (response.LoginStatus == 0 && (response.Flags & 0x80) != 0)
        {
            var answered = response.Keys();
            HeaderDigest = answered.GetValueOrDefault("HeaderDigest") == "CRC32C";
            DataDigest = answered.GetValueOrDefault("DataDigest") == "CRC32C";
        }
        return response;
    }

    public byte[] CommandHeader(byte[] cdb, int edtl, bool read, bool write, bool final = true, ulong lun = 0)
    {
        var h = Header(Opcode.ScsiCommand, (byte)((final ? 0x80 : 0) | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1));
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), lun);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), NextItt());
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), (uint)edtl);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), CmdSN++);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(28), ExpStatSN);
        cdb.CopyTo(h, 32);
        return h;
    }

    /// <summary>
    /// Runs one SCSI command: immediate data up to <paramref name="immediate"/> bytes, the rest
    /// answered to R2Ts; collects Data-In and the status.
    /// </summary>
    public async Task<ScsiResult> CommandAsync(byte[] cdb, int edtl, bool read = false, byte[]? dataOut = null, int immediate = 0, ulong lun = 0)
    {
        bool write = dataOut is not null;
        immediate = Math.Min(immediate, dataOut?.Length ?? 0);
        var h = CommandHeader(cdb, edtl, read, write, final: true, lun);
        uint itt = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        await SendAsync(h, write ? dataOut![..immediate] : null);
        var dataIn = new MemoryStream();
        while (true)
        {
            var pdu = await ReceiveAsync() ?? throw new TimeoutException("no response to command");
            switch (pdu.Opcode)
            {
                case Opcode.ReadyToTransfer:
                    {
                        int offset = (int)pdu.Word40, length = (int)pdu.Word44;
                        uint dataSN = 0;
                        for (int sent = 0; sent < length;)
                        {
                            int n = Math.Min(MaxSendDataSegment, length - sent);
                            var d = Header(Opcode.DataOut, (byte)(sent + n == length ? 0x80 : 0));
                            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(16), itt);
                            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), pdu.Ttt);
                            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(28), ExpStatSN);
                            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(36), dataSN++);
                            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(40), (uint)(offset + sent));
                            await SendAsync(d, dataOut.AsSpan(offset + sent, n).ToArray());
                            sent += n;
                        }
                        break;
                    }
                case Opcode.DataIn:
                    dataIn.Write(pdu.Data);
                    if ((pdu.Flags & 1) != 0)
                        return new ScsiResult(pdu.Byte3, [], dataIn.ToArray(), (byte)(pdu.Flags & 0x06), pdu.Word44);
                    break;
                case Opcode.ScsiResponse:
                    {
                        byte[] sense = pdu.Data.Length >= 2 ? pdu.Data.AsSpan(2, BinaryPrimitives.ReadUInt16BigEndian(pdu.Data)).ToArray() : [];
                        return new ScsiResult(pdu.Byte3, sense, dataIn.ToArray(), (byte)(pdu.Flags & 0x06), pdu.Word44);
                    }
                case Opcode.NopIn:
                    break;
                default:
                    throw new InvalidOperationException($"unexpected {pdu.Opcode} reason {pdu.Byte2:x2}");
            }
        }
    }

    /// <summary>An immediate Task Management Function Request (RFC 7143 11.5).</summary>
    public byte[] TaskManagementHeader(int function, uint referencedTag = Bhs.ReservedTag, uint refCmdSN = 0)
    {
        var h = Header(Opcode.TaskManagementRequest, (byte)(0x80 | function), immediate: true);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), NextItt());
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), referencedTag);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(32), refCmdSN);
        return h;
    }

    /// <summary>Logout Request, reason "close the session" (immediate); returns the target's answer.</summary>
    public async Task<Pdu?> LogoutAsync()
    {
        var h = Header(Opcode.LogoutRequest, 0x80, immediate: true);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), NextItt());
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), CmdSN);
        await SendAsync(h);
        return await ReceiveAsync();
    }

    public async Task<Pdu> NopAsync(byte[]? ping = null)
    {
        var h = Header(Opcode.NopOut, 0x80, immediate: true);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), NextItt());
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), Bhs.ReservedTag);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), CmdSN);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(28), ExpStatSN);
        await SendAsync(h, ping);
        while (true)
        {
            var pdu = await ReceiveAsync() ?? throw new TimeoutException("no NOP-In");
            if (pdu.Opcode == Opcode.NopIn && pdu.Itt != Bhs.ReservedTag) return pdu;
            if (pdu.Opcode != Opcode.NopIn) return pdu;
        }
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
