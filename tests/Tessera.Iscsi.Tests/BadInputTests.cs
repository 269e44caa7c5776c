using System.Buffers.Binary;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Tests.Support;

namespace Tessera.Iscsi.Tests;

/// <summary>Malformed and hostile input: the exact answer the standards give, and the node keeps serving.</summary>
public class BadInputTests
{
    private static async Task AssertStillServes(TargetHost host)
    {
        await using var other = await host.LoginAsync("iqn.2026-11.test:bystander", 0x800000000999);
        var data = new byte[4096];
        new Random(3).NextBytes(data);
        Assert.Equal(0, (await other.CommandAsync(Cdbs.Write10(10, 8), 4096, dataOut: data, immediate: 4096)).Status);
        var read = await other.CommandAsync(Cdbs.Read10(10, 8), 4096, read: true);
        Assert.Equal(0, read.Status);
        Assert.Equal(data, read.DataIn);
    }

    [Fact]
    public async Task UnknownOpcodeIsRejectedAndTheConnectionContinues()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var h = TestInitiator.Header((Opcode)0x1c, 0x80);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), 0x4242);
        await initiator.SendAsync(h);
        var reject = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.Reject, reject!.Opcode);
        Assert.Equal((byte)RejectReason.CommandNotSupported, reject.Byte2);
        Assert.Equal(h[..8].Skip(0).Take(1).ToArray(), reject.Data[..1]); // carries the rejected header
        Assert.Equal(0x4242u, BinaryPrimitives.ReadUInt32BigEndian(reject.Data.AsSpan(16)));
        Assert.Equal(Opcode.NopIn, (await initiator.NopAsync()).Opcode);
    }

    [Fact]
    public async Task OversizedDataSegmentIsAProtocolErrorThatClosesOnlyThatConnection()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var h = initiator.CommandHeader(Cdbs.Write10(0, 2048), 1 << 20, false, true);
        // Claim 1 MiB of immediate data: four times the declared MaxRecvDataSegmentLength.
        await initiator.SendAsync(h, new byte[64], claimedLength: 1 << 20);
        var reject = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.Reject, reject!.Opcode);
        Assert.Equal((byte)RejectReason.ProtocolError, reject.Byte2);
        Assert.True(await initiator.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        await AssertStillServes(host);
    }

    [Fact]
    public async Task TruncatedPduLeavesTheNodeServing()
    {
        await using var host = new TargetHost();
        await using (var initiator = await host.LoginAsync())
        {
            var h = initiator.CommandHeader(Cdbs.Write10(0, 8), 4096, false, true);
            h[5] = 0; h[6] = 0x10; h[7] = 0; // announces 4096 bytes of immediate data
            await initiator.SendRawAsync([.. h, .. new byte[100]]);
        }
        await using (var initiator = await host.ConnectAsync())
        {
            await initiator.SendRawAsync(new byte[20]); // not even a whole header
        }
        await AssertStillServes(host);
    }

    [Fact]
    public async Task CmdSNOutsideTheWindowIsSilentlyIgnored()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        uint good = initiator.CmdSN;
        // RFC 7143 4.2.2.1: too low and too high are both dropped without an answer.
        foreach (uint bad in new[] { good - 1, good + 1000 })
        {
            initiator.CmdSN = bad;
            await initiator.SendAsync(initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false));
            Assert.Null(await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        }
        initiator.CmdSN = good;
        Assert.Equal(0, (await initiator.CommandAsync(Cdbs.TestUnitReady(), 0)).Status);
    }

    [Fact]
    public async Task CmdSNAheadInsideTheWindowWaitsForTheGap()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        uint first = initiator.CmdSN;
        initiator.CmdSN = first + 1;
        var later = initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false);
        await initiator.SendAsync(later);
        Assert.Null(await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        initiator.CmdSN = first;
        await initiator.SendAsync(initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false));
        var a = await initiator.ReceiveAsync();
        var b = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.ScsiResponse, a!.Opcode);
        Assert.Equal(Opcode.ScsiResponse, b!.Opcode);
        Assert.Equal(first + 2, b.ExpCmdSN);
    }

    [Fact]
    public async Task WrongDataSNFailsTheCommandButNotTheConnection()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var h = initiator.CommandHeader(Cdbs.Write10(0, 2), 1024, false, true);
        uint itt = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        await initiator.SendAsync(h);
        var r2t = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.ReadyToTransfer, r2t!.Opcode);
        for (int i = 0; i < 2; i++)
        {
            var d = TestInitiator.Header(Opcode.DataOut, (byte)(i == 1 ? 0x80 : 0));
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(16), itt);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), r2t.Ttt);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(36), 0); // DataSN 0 twice
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(40), (uint)(i * 512));
            await initiator.SendAsync(d, new byte[512]);
        }
        var response = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.ScsiResponse, response!.Opcode);
        Assert.Equal(itt, response.Itt);
        Assert.Equal(0x02, response.Byte3);             // CHECK CONDITION
        var sense = response.Data.AsSpan(2).ToArray();
        Assert.Equal(0x0b, sense[2] & 0x0f);             // ABORTED COMMAND
        Assert.Equal(0x4b, sense[12]);                   // DATA PHASE ERROR
        // The connection carries on.
        Assert.Equal(0, (await initiator.CommandAsync(Cdbs.TestUnitReady(), 0)).Status);
        await AssertStillServes(host);
    }

    [Fact]
    public async Task DataOutBeyondTheBurstIsTooMuchWriteData()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var h = initiator.CommandHeader(Cdbs.Write10(0, 1), 512, false, true);
        uint itt = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        await initiator.SendAsync(h);
        var r2t = await initiator.ReceiveAsync();
        var d = TestInitiator.Header(Opcode.DataOut, 0x80);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(16), itt);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), r2t!.Ttt);
        await initiator.SendAsync(d, new byte[1024]);
        var response = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.ScsiResponse, response!.Opcode);
        var sense = response.Data.AsSpan(2).ToArray();
        Assert.Equal(0x0b, sense[2] & 0x0f);
        Assert.Equal(0x4b, sense[12]);
        Assert.Equal(0x02, sense[13]);                   // TOO MUCH WRITE DATA
    }

    [Fact]
    public async Task ReadBeyondTheEndIsLbaOutOfRange()
    {
        await using var host = new TargetHost(volumeBytes: 1024 * 1024);
        await using var initiator = await host.LoginAsync();
        var result = await initiator.CommandAsync(Cdbs.Read10(2047, 2), 1024, read: true);
        Assert.Equal(0x02, result.Status);      // CHECK CONDITION
        Assert.Equal(0x05, result.SenseKey);    // ILLEGAL REQUEST
        Assert.Equal(0x21, result.Asc);         // LOGICAL BLOCK ADDRESS OUT OF RANGE
        Assert.Equal(0x00, result.Ascq);
        Assert.Empty(result.DataIn);
    }

    [Fact]
    public async Task BadModeSelectParameterListIsInvalidFieldInParameterList()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        // MODE SELECT(6), PF=1, a caching page whose length byte lies (0x30 instead of 0x12).
        byte[] list = new byte[4 + 2 + 0x12];
        list[4] = 0x08;
        list[5] = 0x30;
        var cdb = new byte[16];
        cdb[0] = 0x15;
        cdb[1] = 0x10;
        cdb[4] = (byte)list.Length;
        var result = await initiator.CommandAsync(cdb, list.Length, dataOut: list, immediate: list.Length);
        Assert.Equal(0x02, result.Status);
        Assert.Equal(0x05, result.SenseKey);
        Assert.Equal(0x26, result.Asc); // INVALID FIELD IN PARAMETER LIST
    }

    [Fact]
    public async Task UnsupportedOperationCodeIsInvalidCommandOperationCode()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var cdb = new byte[16];
        cdb[0] = 0xd9; // vendor specific, not implemented
        var result = await initiator.CommandAsync(cdb, 0);
        Assert.Equal(0x02, result.Status);
        Assert.Equal(0x05, result.SenseKey);
        Assert.Equal(0x20, result.Asc);
    }

    [Fact]
    public async Task RandomGarbageNeverTakesTheNodeDown()
    {
        await using var host = new TargetHost();
        var random = new Random(12345);
        for (int round = 0; round < 40; round++)
        {
            await using var initiator = await host.ConnectAsync();
            if (round % 2 == 1)
            {
                // After a real login: mutate a valid PDU header at random.
                var login = await initiator.LoginAsync(isid: 0x800000001000 + (ulong)round);
                Assert.Equal(0, login.LoginStatus);
                var h = initiator.CommandHeader(Cdbs.Read10(0, 1), 512, true, false);
                for (int k = 0; k < 6; k++) h[random.Next(48)] = (byte)random.Next(256);
                h[4] = 0; h[5] = 0;
                var data = new byte[random.Next(0, 600)];
                random.NextBytes(data);
                try { await initiator.SendAsync(h, data); } catch (IOException) { }
            }
            else
            {
                var bytes = new byte[random.Next(1, 4000)];
                random.NextBytes(bytes);
                try { await initiator.SendRawAsync(bytes); } catch (IOException) { }
            }
            try { await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(50)); } catch (Exception ex) when (ex is EndOfStreamException or IOException) { }
        }
        await AssertStillServes(host);
    }
}
