using System.Buffers.Binary;
using Tessera.Iscsi.Login;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Tests.Support;

namespace Tessera.Iscsi.Tests;

public class DataPathTests
{
    [Theory]
    [InlineData(0, 8192)]          // everything solicited with R2T, small Data-Out PDUs
    [InlineData(65536, 65536)]     // immediate data, then R2Ts
    [InlineData(1 << 20, 262144)]  // all immediate up to FirstBurstLength
    public async Task WritesThroughR2TAndReadsBack(int immediate, int segment)
    {
        await using var host = new TargetHost(limits: new IscsiLimits { MaxBurstLength = 262144, MaxOutstandingR2T = 4 });
        await using var initiator = await host.ConnectAsync();
        Assert.Equal(0, (await initiator.LoginAsync(extra: [("MaxBurstLength", "262144"), ("FirstBurstLength", "262144"),
            ("MaxOutstandingR2T", "4"), ("MaxRecvDataSegmentLength", "65536")])).LoginStatus);
        initiator.MaxSendDataSegment = segment;
        await initiator.CommandAsync(Cdbs.TestUnitReady(), 0);
        var data = new byte[1 << 20];
        new Random(immediate).NextBytes(data);
        var write = await initiator.CommandAsync(Cdbs.Write10(100, 2048), data.Length, dataOut: data, immediate: Math.Min(immediate, 262144));
        Assert.Equal(0, write.Status);
        var read = await initiator.CommandAsync(Cdbs.Read10(100, 2048), data.Length, read: true);
        Assert.Equal(0, read.Status);
        Assert.Equal(data, read.DataIn);
    }

    [Fact]
    public async Task DigestsProtectEveryPdu()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        var login = await initiator.LoginAsync(extra: [("HeaderDigest", "CRC32C"), ("DataDigest", "CRC32C")]);
        Assert.Equal(0, login.LoginStatus);
        Assert.True(initiator.HeaderDigest && initiator.DataDigest);
        await initiator.CommandAsync(Cdbs.TestUnitReady(), 0);
        var data = new byte[64 * 1024];
        new Random(5).NextBytes(data);
        Assert.Equal(0, (await initiator.CommandAsync(Cdbs.Write10(0, 128), data.Length, dataOut: data, immediate: 8192)).Status);
        var read = await initiator.CommandAsync(Cdbs.Read10(0, 128), data.Length, read: true);
        Assert.Equal(data, read.DataIn);

        // A corrupted data digest is refused (RFC 7143 11.17.1 reason 0x02).
        initiator.DataDigest = false;
        var h = initiator.CommandHeader(Cdbs.Write10(0, 1), 512, false, true);
        var payload = new byte[512 + 4];
        initiator.HeaderDigest = true;
        await initiator.SendAsync(h, payload, claimedLength: 512); // the last 4 bytes (zeros) are a wrong digest
        var reject = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.Reject, reject!.Opcode);
        Assert.Equal((byte)RejectReason.DataDigestError, reject.Byte2);
    }

    [Fact]
    public async Task ResidualsFollowTheCdbNotTheExpectedLength()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        // READ(10) of 1 block with EDTL of 2 blocks: underflow of one block.
        var under = await initiator.CommandAsync(Cdbs.Read10(0, 1), 1024, read: true);
        Assert.Equal(0, under.Status);
        Assert.Equal(512, under.DataIn.Length);
        Assert.Equal(0x02, under.ResidualFlags);
        Assert.Equal(512u, under.Residual);
        // READ(10) of 2 blocks with EDTL of 1 block: overflow, only EDTL bytes sent.
        var over = await initiator.CommandAsync(Cdbs.Read10(0, 2), 512, read: true);
        Assert.Equal(0, over.Status);
        Assert.Equal(512, over.DataIn.Length);
        Assert.Equal(0x04, over.ResidualFlags);
        Assert.Equal(512u, over.Residual);
    }

    [Fact]
    public async Task LargeReadIsSplitByTheInitiatorsSegmentLength()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        Assert.Equal(0, (await initiator.LoginAsync(extra: [("MaxRecvDataSegmentLength", "4096")])).LoginStatus);
        await initiator.CommandAsync(Cdbs.TestUnitReady(), 0);
        await initiator.SendAsync(initiator.CommandHeader(Cdbs.Read10(0, 64), 32768, true, false));
        uint expectedDataSN = 0, expectedOffset = 0;
        while (true)
        {
            var pdu = await initiator.ReceiveAsync();
            Assert.Equal(Opcode.DataIn, pdu!.Opcode);
            Assert.True(pdu.Data.Length <= 4096);
            Assert.Equal(expectedDataSN++, pdu.Word36);
            Assert.Equal(expectedOffset, pdu.Word40);
            expectedOffset += (uint)pdu.Data.Length;
            if ((pdu.Flags & 1) != 0) break;
        }
        Assert.Equal(32768u, expectedOffset);
    }

    [Fact]
    public async Task AbortTaskOfACompletedCommandSaysTaskDoesNotExist()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        uint refCmdSN = initiator.CmdSN;
        var h = initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false);
        uint itt = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        await initiator.SendAsync(h);
        Assert.Equal(Opcode.ScsiResponse, (await initiator.ReceiveAsync())!.Opcode);
        await initiator.SendAsync(initiator.TaskManagementHeader(function: 1, itt, refCmdSN)); // ABORT TASK
        var response = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.TaskManagementResponse, response!.Opcode);
        Assert.Equal(1, response.Byte2); // Task does not exist
    }

    [Fact]
    public async Task AbortTaskOfACommandWaitingForDataAbortsIt()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        uint refCmdSN = initiator.CmdSN;
        var h = initiator.CommandHeader(Cdbs.Write10(0, 8), 4096, false, true);
        uint itt = BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16));
        await initiator.SendAsync(h);
        Assert.Equal(Opcode.ReadyToTransfer, (await initiator.ReceiveAsync())!.Opcode);
        await initiator.SendAsync(initiator.TaskManagementHeader(function: 1, itt, refCmdSN)); // ABORT TASK
        var response = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.TaskManagementResponse, response!.Opcode);
        Assert.Equal(0, response.Byte2); // Function complete; no response for the aborted WRITE follows
        Assert.Null(await initiator.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, (await initiator.CommandAsync(Cdbs.TestUnitReady(), 0)).Status);
    }
}
