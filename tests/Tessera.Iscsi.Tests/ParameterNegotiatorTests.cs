using Tessera.Iscsi.Login;

namespace Tessera.Iscsi.Tests;

public class ParameterNegotiatorTests
{
    private static (OperationalParameters, Dictionary<string, string>) Negotiate(params (string, string)[] keys)
    {
        var p = new OperationalParameters();
        var n = new ParameterNegotiator(new IscsiLimits { MaxBurstLength = 1048576, MaxOutstandingR2T = 8 }, p);
        var response = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in keys)
            if (!n.TryNegotiate(k, v, inLogin: true, response)) response.Add(new(k, "NotUnderstood"));
        n.Complete();
        return (p, response.ToDictionary(kv => kv.Key, kv => kv.Value));
    }

    [Fact]
    public void NumericKeysTakeTheMinimumOfBothSides()
    {
        var (p, r) = Negotiate(("MaxBurstLength", "16776192"), ("FirstBurstLength", "262144"), ("MaxOutstandingR2T", "64"));
        Assert.Equal("1048576", r["MaxBurstLength"]);
        Assert.Equal(1048576, p.MaxBurstLength);
        Assert.Equal("8", r["MaxOutstandingR2T"]);
        Assert.Equal(262144, p.FirstBurstLength);
    }

    [Fact]
    public void FirstBurstNeverExceedsMaxBurst()
    {
        var (p, _) = Negotiate(("MaxBurstLength", "65536"), ("FirstBurstLength", "262144"));
        Assert.Equal(65536, p.FirstBurstLength);
    }

    [Fact]
    public void DigestListPicksTheInitiatorsFirstSupportedChoice()
    {
        var (p, r) = Negotiate(("HeaderDigest", "CRC32C,None"), ("DataDigest", "None,CRC32C"));
        Assert.Equal("CRC32C", r["HeaderDigest"]);
        Assert.Equal("None", r["DataDigest"]);
        Assert.True(p.HeaderDigest);
        Assert.False(p.DataDigest);
    }

    [Fact]
    public void BooleanFunctionsFollowTheRfc()
    {
        // InitialR2T is OR, ImmediateData is AND; this target prefers No / Yes.
        var (p, r) = Negotiate(("InitialR2T", "No"), ("ImmediateData", "No"), ("ErrorRecoveryLevel", "2"));
        Assert.Equal("No", r["InitialR2T"]);
        Assert.Equal("No", r["ImmediateData"]);
        Assert.Equal("0", r["ErrorRecoveryLevel"]);
        Assert.False(p.InitialR2T);
        Assert.False(p.ImmediateData);
    }

    [Theory]
    [InlineData("MaxBurstLength", "100")]
    [InlineData("MaxBurstLength", "abc")]
    [InlineData("MaxBurstLength", "99999999999")]
    [InlineData("InitialR2T", "Maybe")]
    [InlineData("HeaderDigest", "MD5")]
    [InlineData("MaxRecvDataSegmentLength", "16777216")]
    public void OutOfRangeValuesAreRejected(string key, string value)
    {
        var (_, r) = Negotiate((key, value));
        Assert.Equal("Reject", r[key]);
    }

    [Fact]
    public void UnknownKeysAreNotUnderstood()
    {
        var (_, r) = Negotiate(("X-com.example.Foo", "1"));
        Assert.Equal("NotUnderstood", r["X-com.example.Foo"]);
    }

    [Fact]
    public void MaxRecvDataSegmentLengthIsDeclarative()
    {
        var (p, r) = Negotiate(("MaxRecvDataSegmentLength", "0x10000"));
        Assert.Equal(65536, p.InitiatorMaxRecvDataSegmentLength);
        Assert.Equal(new IscsiLimits().MaxRecvDataSegmentLength.ToString(), r["MaxRecvDataSegmentLength"]);
    }

    [Fact]
    public void LoginOnlyKeysAreRejectedInFullFeaturePhase()
    {
        var p = new OperationalParameters();
        var n = new ParameterNegotiator(new IscsiLimits(), p);
        var response = new List<KeyValuePair<string, string>>();
        Assert.True(n.TryNegotiate("MaxBurstLength", "4096", inLogin: false, response));
        Assert.Equal("Reject", response[0].Value);
        Assert.Equal(262144, p.MaxBurstLength);
    }
}
