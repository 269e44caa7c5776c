using Tessera.Iscsi.Protocol;
using Tessera.Hashing;

namespace Tessera.Iscsi.Tests;

public class Crc32CTests
{
    // RFC 7143 Appendix B.4 examples, as the bytes that go on the wire.
    [Theory]
    [InlineData("zeros", "aa36918a")]
    [InlineData("ones", "43aba862")]
    [InlineData("incrementing", "4e79dd46")]
    [InlineData("decrementing", "5cdb3f11")]
    public void Rfc7143Vectors(string kind, string wire)
    {
        var data = new byte[32];
        for (int i = 0; i < 32; i++)
            data[i] = kind switch { "zeros" => 0, "ones" => 0xff, "incrementing" => (byte)i, _ => (byte)(31 - i) };
        var digest = new byte[4];
        Crc32C.Write(digest, Crc32C.Compute(data));
        Assert.Equal(wire, Convert.ToHexString(digest).ToLowerInvariant());
    }

    [Fact]
    public void AppendIsIncremental()
    {
        var data = new byte[1000];
        new Random(7).NextBytes(data);
        uint running = Crc32C.Append(~0u, data.AsSpan(0, 333));
        running = Crc32C.Append(running, data.AsSpan(333));
        Assert.Equal(Crc32C.Compute(data), ~running);
    }
}
