using System.Buffers.Binary;
using System.Net.Sockets;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Tests.Support;

namespace Tessera.Iscsi.Tests;

public class SessionScaleTests
{
    [Fact]
    public async Task ManyConcurrentSessionsEachSeeTheirOwnData()
    {
        await using var host = new TargetHost(volumeBytes: 64 * 1024 * 1024);
        const int sessions = 40;
        var tasks = Enumerable.Range(0, sessions).Select(async i =>
        {
            await using var initiator = await host.LoginAsync($"iqn.2026-11.test:many{i}", 0x800000100000 + (ulong)i);
            var data = new byte[64 * 1024];
            new Random(i).NextBytes(data);
            uint lba = (uint)(i * 128);
            for (int round = 0; round < 5; round++)
            {
                data[round] ^= 0xff;
                Assert.Equal(0, (await initiator.CommandAsync(Cdbs.Write10(lba, 128), data.Length, dataOut: data, immediate: 8192)).Status);
                var read = await initiator.CommandAsync(Cdbs.Read10(lba, 128), data.Length, read: true);
                Assert.Equal(data, read.DataIn);
            }
        });
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task TargetColdResetClosesEveryConnection()
    {
        await using var host = new TargetHost();
        await using var a = await host.LoginAsync("iqn.2026-11.test:a", 0x800000000010);
        await using var b = await host.LoginAsync("iqn.2026-11.test:b", 0x800000000011);
        await a.SendAsync(a.TaskManagementHeader(function: 7)); // TARGET COLD RESET
        var response = await a.ReceiveAsync();
        Assert.Equal(Opcode.TaskManagementResponse, response!.Opcode);
        Assert.Equal(0, response.Byte2);
        Assert.True(await a.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await b.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        // A new session sees the cold reset as a power-on unit attention (SAM-5 6.3.1).
        await using var c = await host.ConnectAsync();
        Assert.Equal(0, (await c.LoginAsync("iqn.2026-11.test:a", 0x800000000010)).LoginStatus);
        var tur = await c.CommandAsync(Cdbs.TestUnitReady(), 0);
        Assert.Equal(0x02, tur.Status);
        Assert.Equal(0x06, tur.SenseKey);
        Assert.Equal(0x29, tur.Asc);
    }

}

/// <summary>Runs alone: it measures allocations of the whole process.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationCollection;

[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    /// <summary>
    /// The target's per-command path allocates nothing: 20,000 pipelined 4 KiB READs from a
    /// client that itself allocates nothing, measured process-wide.
    /// </summary>
    [Fact]
    public async Task ReadPathAllocatesNothingPerCommand()
    {
        await using var host = new TargetHost();
        await using (var login = await host.ConnectAsync()) { }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(host.EndPoint); // synchronous socket use throughout: the client itself must not allocate
        var initiator = LoginRaw(socket);
        const int depth = 16, total = 20000, blockBytes = 4096;
        byte[] commands = new byte[48 * depth];
        byte[] response = new byte[48 + blockBytes];
        uint cmdSN = initiator;
        int Build(int slot, uint itt)
        {
            Span<byte> h = commands.AsSpan(slot * 48, 48);
            h.Clear();
            h[0] = (byte)Opcode.ScsiCommand;
            h[1] = 0x80 | 0x40 | 1;
            BinaryPrimitives.WriteUInt32BigEndian(h[16..], itt);
            BinaryPrimitives.WriteUInt32BigEndian(h[20..], blockBytes);
            BinaryPrimitives.WriteUInt32BigEndian(h[24..], cmdSN++);
            h[32] = 0x28;
            BinaryPrimitives.WriteUInt32BigEndian(h[34..], itt % 1024 * 8);
            BinaryPrimitives.WriteUInt16BigEndian(h[39..], blockBytes / 512);
            return 48;
        }
        void Run(int count)
        {
            int sent = 0, received = 0;
            while (received < count)
            {
                int batch = 0;
                while (sent < count && sent - received < depth && batch < depth)
                {
                    Build(batch, (uint)(sent + 1));
                    batch++;
                    sent++;
                }
                if (batch > 0) socket.Send(commands.AsSpan(0, batch * 48));
                // One Data-In with status per READ (4 KiB < MaxRecvDataSegmentLength).
                ReadExactly(socket, response.AsSpan(0, 48));
                int len = (response[5] << 16) | (response[6] << 8) | response[7];
                ReadExactly(socket, response.AsSpan(48, (len + 3) & ~3));
                if ((Opcode)(response[0] & 0x3f) == Opcode.DataIn && (response[1] & 1) != 0) received++;
            }
        }
        Run(2000); // warm up: tiering, pools
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Run(total);
        long perCommand = (GC.GetTotalAllocatedBytes(precise: true) - before) / total;
        Assert.True(perCommand < 16, $"{perCommand} bytes allocated per READ");
    }

    private static void ReadExactly(Socket socket, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = socket.Receive(buffer);
            if (n == 0) throw new EndOfStreamException();
            buffer = buffer[n..];
        }
    }

    /// <summary>Logs in over a bare socket and clears the power-on unit attention; returns the next CmdSN.</summary>
    private static uint LoginRaw(Socket socket)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        var text = TestInitiator.Text(("InitiatorName", "iqn.2026-11.test:alloc"), ("SessionType", "Normal"),
            ("TargetName", TestInitiator.TargetName), ("MaxRecvDataSegmentLength", "262144"));
        var h = TestInitiator.Header(Opcode.LoginRequest, 0x80 | (1 << 2) | 3, immediate: true);
        h[8] = 0x80;
        h[13] = 0x55;
        h[5] = (byte)(text.Length >> 16); h[6] = (byte)(text.Length >> 8); h[7] = (byte)text.Length;
        var padded = new byte[(text.Length + 3) & ~3];
        text.CopyTo(padded, 0);
        stream.Write(h);
        stream.Write(padded);
        var rh = new byte[48];
        stream.ReadExactly(rh);
        int len = (rh[5] << 16) | (rh[6] << 8) | rh[7];
        stream.ReadExactly(new byte[(len + 3) & ~3]);
        Assert.Equal(0, rh[36]);
        uint cmdSN = 0;
        // TEST UNIT READY until GOOD (the first reports the power-on unit attention).
        for (int i = 0; i < 3; i++)
        {
            var tur = TestInitiator.Header(Opcode.ScsiCommand, 0x80 | 1);
            BinaryPrimitives.WriteUInt32BigEndian(tur.AsSpan(16), 0x7000 + (uint)i);
            BinaryPrimitives.WriteUInt32BigEndian(tur.AsSpan(24), cmdSN++);
            stream.Write(tur);
            stream.ReadExactly(rh);
            len = (rh[5] << 16) | (rh[6] << 8) | rh[7];
            if (len > 0) stream.ReadExactly(new byte[(len + 3) & ~3]);
            if (rh[3] == 0) break;
        }
        return cmdSN;
    }
}
