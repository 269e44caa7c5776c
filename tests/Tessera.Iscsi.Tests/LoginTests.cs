using Tessera.Iscsi.Login;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Tests.Support;

namespace Tessera.Iscsi.Tests;

public class LoginTests
{
    private static readonly ChapCredentials OneWay = new() { User = "alice", Secret = "alice-secret-123" };
    private static readonly ChapCredentials Mutual = OneWay with { MutualUser = "target", MutualSecret = "target-secret-456" };

    [Fact]
    public async Task NormalLoginNegotiatesAndReportsPortalGroup()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        var response = await initiator.LoginAsync(extra: [("MaxRecvDataSegmentLength", "65536"), ("MaxBurstLength", "262144")]);
        Assert.Equal(Opcode.LoginResponse, response.Opcode);
        Assert.Equal(0, response.LoginStatus);
        Assert.NotEqual(0, response.Tsih);
        Assert.Equal(0x80 | (1 << 2) | 3, response.Flags); // T, CSG=1, NSG=3
        var keys = response.Keys();
        Assert.Equal("1", keys["TargetPortalGroupTag"]);
        Assert.Equal("262144", keys["MaxBurstLength"]);
        Assert.True(keys.ContainsKey("MaxRecvDataSegmentLength"));
        var nop = await initiator.NopAsync([1, 2, 3, 4, 5]);
        Assert.Equal(Opcode.NopIn, nop.Opcode);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, nop.Data);
    }

    [Fact]
    public async Task MissingInitiatorNameIsMissingParameter()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        await initiator.SendAsync(initiator.LoginHeader(0x800000000001, 1, 3, true),
            TestInitiator.Text(("SessionType", "Normal"), ("TargetName", TestInitiator.TargetName)));
        var response = await initiator.ReceiveAsync();
        Assert.Equal(0x0207, response!.LoginStatus);
        Assert.True(await initiator.WaitClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task UnknownTargetIsNotFound()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        await initiator.SendAsync(initiator.LoginHeader(0x800000000001, 1, 3, true),
            TestInitiator.Text(("InitiatorName", "iqn.2026-11.test:x"), ("TargetName", "iqn.2026-11.nowhere:else")));
        Assert.Equal(0x0203, (await initiator.ReceiveAsync())!.LoginStatus);
    }

    [Fact]
    public async Task UnsupportedVersionIsRefused()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        var h = initiator.LoginHeader(0x800000000001, 1, 3, true);
        h[2] = 2; // Version-max
        h[3] = 1; // Version-min
        await initiator.SendAsync(h, TestInitiator.Text(("InitiatorName", "iqn.2026-11.test:x"), ("TargetName", TestInitiator.TargetName)));
        Assert.Equal(0x0205, (await initiator.ReceiveAsync())!.LoginStatus);
    }

    [Fact]
    public async Task CommandBeforeLoginClosesTheConnection()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        await initiator.SendAsync(initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false));
        Assert.True(await initiator.WaitClosedAsync(TimeSpan.FromSeconds(5)));
    }

    private static async Task<Pdu> ChapLoginAsync(TestInitiator initiator, string user, string secret, bool mutual = false, byte[]? mutualChallenge = null)
    {
        const ulong isid = 0x800000000042;
        await initiator.SendAsync(initiator.LoginHeader(isid, 0, 1, transit: false),
            TestInitiator.Text(("InitiatorName", "iqn.2026-11.test:chap"), ("SessionType", "Normal"),
                ("TargetName", TestInitiator.TargetName), ("AuthMethod", "CHAP,None")));
        var first = await initiator.ReceiveAsync();
        if (first!.LoginStatus != 0) return first;
        Assert.Equal("CHAP", first.Keys()["AuthMethod"]);

        await initiator.SendAsync(initiator.LoginHeader(isid, 0, 1, transit: false), TestInitiator.Text(("CHAP_A", "5")));
        var challenge = (await initiator.ReceiveAsync())!.Keys();
        Assert.Equal("5", challenge["CHAP_A"]);
        byte id = byte.Parse(challenge["CHAP_I"]);
        Assert.True(ChapAuthenticator.TryDecode(challenge["CHAP_C"], out byte[] c));
        byte[] r = ChapAuthenticator.Response(id, secret, c);
        var keys = new List<(string, string)> { ("CHAP_N", user), ("CHAP_R", "0x" + Convert.ToHexString(r)) };
        if (mutual)
        {
            keys.Add(("CHAP_I", "77"));
            keys.Add(("CHAP_C", "0x" + Convert.ToHexString(mutualChallenge ?? c)));
        }
        await initiator.SendAsync(initiator.LoginHeader(isid, 0, 1, transit: true), TestInitiator.Text([.. keys]));
        return (await initiator.ReceiveAsync())!;
    }

    [Fact]
    public async Task WrongChapSecretIsAuthenticationFailure()
    {
        await using var host = new TargetHost(OneWay);
        await using var initiator = await host.ConnectAsync();
        var response = await ChapLoginAsync(initiator, "alice", "not-the-secret!");
        Assert.Equal(0x0201, response.LoginStatus);
        Assert.True(await initiator.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        // The node keeps serving others.
        await using var other = await host.ConnectAsync();
        Assert.Equal(0x0201, (await ChapLoginAsync(other, "mallory", "alice-secret-123")).LoginStatus);
    }

    [Fact]
    public async Task RightChapSecretLogsIn()
    {
        await using var host = new TargetHost(OneWay);
        await using var initiator = await host.ConnectAsync();
        var response = await ChapLoginAsync(initiator, "alice", "alice-secret-123");
        Assert.Equal(0, response.LoginStatus);
        Assert.Equal(0x80 | 1, response.Flags); // T, CSG=0, NSG=1
    }

    [Fact]
    public async Task MutualChapProvesTheTarget()
    {
        await using var host = new TargetHost(Mutual);
        await using var initiator = await host.ConnectAsync();
        byte[] challenge = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6];
        var response = await ChapLoginAsync(initiator, "alice", "alice-secret-123", mutual: true, mutualChallenge: challenge);
        Assert.Equal(0, response.LoginStatus);
        var keys = response.Keys();
        Assert.Equal("target", keys["CHAP_N"]);
        Assert.True(ChapAuthenticator.TryDecode(keys["CHAP_R"], out byte[] proof));
        Assert.Equal(ChapAuthenticator.Response(77, "target-secret-456", challenge), proof);
    }

    [Fact]
    public async Task ReflectedMutualChallengeIsRefused()
    {
        await using var host = new TargetHost(Mutual);
        await using var initiator = await host.ConnectAsync();
        var response = await ChapLoginAsync(initiator, "alice", "alice-secret-123", mutual: true, mutualChallenge: null);
        Assert.Equal(0x0201, response.LoginStatus);
    }

    [Fact]
    public async Task SkippingSecurityWhenChapIsRequiredFails()
    {
        await using var host = new TargetHost(OneWay);
        await using var initiator = await host.ConnectAsync();
        Assert.Equal(0x0201, (await initiator.LoginAsync()).LoginStatus);
    }

    [Fact]
    public async Task DiscoveryListsEveryPortal()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.ConnectAsync();
        Assert.Equal(0, (await initiator.LoginAsync(sessionType: "Discovery")).LoginStatus);
        var h = TestInitiator.Header(Opcode.TextRequest, 0x80, immediate: true);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), initiator.NextItt());
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), Bhs.ReservedTag);
        await initiator.SendAsync(h, TestInitiator.Text(("SendTargets", "All")));
        var response = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.TextResponse, response!.Opcode);
        var keys = response.KeyList();
        Assert.Equal(new KeyValuePair<string, string>("TargetName", TestInitiator.TargetName), keys[0]);
        Assert.Equal(new KeyValuePair<string, string>("TargetAddress", "127.0.0.1:3260,1"), keys[1]);
        // SCSI commands have no place in a discovery session.
        await initiator.SendAsync(initiator.CommandHeader(Cdbs.TestUnitReady(), 0, false, false));
        var reject = await initiator.ReceiveAsync();
        Assert.Equal(Opcode.Reject, reject!.Opcode);
        Assert.Equal((byte)RejectReason.ProtocolError, reject.Byte2);
    }

    [Fact]
    public async Task SessionReinstatementClosesTheOldConnection()
    {
        await using var host = new TargetHost();
        await using var first = await host.LoginAsync(isid: 0x800000000077);
        await using var second = await host.LoginAsync(isid: 0x800000000077);
        Assert.True(await first.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        var tur = await second.CommandAsync(Cdbs.TestUnitReady(), 0);
        Assert.Equal(0, tur.Status);
    }

    [Fact]
    public async Task LogoutClosesTheSession()
    {
        await using var host = new TargetHost();
        await using var initiator = await host.LoginAsync();
        var response = await initiator.LogoutAsync();
        Assert.Equal(Opcode.LogoutResponse, response!.Opcode);
        Assert.Equal(0, response.Byte2);
        Assert.True(await initiator.WaitClosedAsync(TimeSpan.FromSeconds(5)));
        await Task.Delay(200);
        Assert.Equal(0, host.Server.SessionCount);
    }

    /// <summary>
    /// RFC 7143 11.15: the Logout Response reports the cleanup done. A host that logs out and at once
    /// reserves through another session (libiscsi Reserve6.Logout) must find the first session's
    /// RESERVE(6) gone, even while the context takes its time to record the I_T nexus loss.
    /// </summary>
    [Fact]
    public async Task LogoutResponseComesAfterTheNexusLossIsRecorded()
    {
        var context = new SlowLuContext();
        await using var host = new TargetHost(context: context);
        await using var first = await host.LoginAsync("iqn.2026-11.test:init1");
        await using var second = await host.LoginAsync("iqn.2026-11.test:init2");
        byte[] reserve6 = [0x16, 0, 0, 0, 0, 0];
        Assert.Equal(0, (await first.CommandAsync(reserve6, 0)).Status);
        Assert.Equal(0x18, (await second.CommandAsync(reserve6, 0)).Status); // RESERVATION CONFLICT

        context.Delay = TimeSpan.FromMilliseconds(500);
        var response = await first.LogoutAsync();
        Assert.Equal(Opcode.LogoutResponse, response!.Opcode);
        Assert.Equal(0, response.Byte2);
        context.Delay = TimeSpan.Zero;

        Assert.Equal(0, (await second.CommandAsync(reserve6, 0)).Status);
    }
}
