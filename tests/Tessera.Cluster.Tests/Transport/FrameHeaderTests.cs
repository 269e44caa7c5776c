using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Hashing;

namespace Tessera.Cluster.Tests.Transport;

public sealed class FrameHeaderTests
{
    [Fact]
    public void HeaderRoundTripsEveryField()
    {
        var header = new FrameHeader(1, 7, 0xBEEF, FrameFlags.Response, (FrameStatus)0x1234, 0x0102030405060708, 0xA0B0C0D);
        byte[] bytes = new byte[FrameHeader.Size];
        header.Write(bytes);

        Assert.Equal(HeaderCheck.Valid, FrameHeader.TryParse(bytes, out FrameHeader parsed));
        Assert.Equal((byte)1, parsed.Major);
        Assert.Equal((byte)7, parsed.Minor);
        Assert.Equal((ushort)0xBEEF, parsed.MessageType);
        Assert.Equal(FrameFlags.Response, parsed.Flags);
        Assert.Equal((FrameStatus)0x1234, parsed.Status);
        Assert.Equal(0x0102030405060708UL, parsed.RequestId);
        Assert.Equal(0xA0B0C0DU, parsed.PayloadLength);
        Assert.Equal("TSNP"u8.ToArray(), bytes[..4]);
    }

    [Fact]
    public void EveryCorruptedHeaderByteIsCaught()
    {
        byte[] good = new byte[FrameHeader.Size];
        new FrameHeader(150, FrameFlags.None, FrameStatus.Ok, 42, 100).Write(good);
        for (int i = 0; i < FrameHeader.Size; i++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                byte[] bad = (byte[])good.Clone();
                bad[i] ^= (byte)(1 << bit);
                HeaderCheck check = FrameHeader.TryParse(bad, out _);
                HeaderCheck expected = i switch
                {
                    < 4 => HeaderCheck.BadMagic,
                    4 => HeaderCheck.UnsupportedVersion,
                    _ => HeaderCheck.BadCrc,
                };
                Assert.Equal(expected, check);
            }
        }
    }

    [Theory]
    [InlineData((ushort)0x0004)]
    [InlineData((ushort)0x8000)]
    [InlineData((ushort)(FrameFlags.Response | FrameFlags.OneWay))]
    public void UndefinedFlagCombinationsAreRefused(ushort flags)
    {
        byte[] bytes = new byte[FrameHeader.Size];
        new FrameHeader(150, (FrameFlags)flags, FrameStatus.Ok, 1, 0).Write(bytes);
        Assert.Equal(HeaderCheck.BadFields, FrameHeader.TryParse(bytes, out _));
    }

    [Fact]
    public void ReservedWordMustBeZero()
    {
        byte[] bytes = new byte[FrameHeader.Size];
        new FrameHeader(150, FrameFlags.None, FrameStatus.Ok, 1, 0).Write(bytes);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), 1);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(28), Crc32C.Compute(bytes.AsSpan(0, 28)));
        Assert.Equal(HeaderCheck.BadFields, FrameHeader.TryParse(bytes, out _));
    }

    [Fact]
    public void ReaderWaitsForWholeFramesAcrossSegments()
    {
        byte[] payload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        byte[] frames = [.. RawPeer.Frame(150, FrameFlags.None, 1, payload), .. RawPeer.Frame(151, FrameFlags.OneWay, 2, [])];
        for (int cut = 0; cut <= frames.Length; cut++)
        {
            var partial = new ReadOnlySequence<byte>(frames, 0, cut);
            var seen = new List<(ushort Type, int Length)>();
            while (FrameReader.TryRead(ref partial, 1024, out FrameHeader header, out ReadOnlySequence<byte> body))
            {
                seen.Add((header.MessageType, (int)body.Length));
                if (header.MessageType == 150)
                {
                    Assert.Equal(payload, body.ToArray());
                }
            }

            int expected = cut < FrameHeader.Size + payload.Length ? 0 : cut < frames.Length ? 1 : 2;
            Assert.Equal(expected, seen.Count);
        }
    }

    [Fact]
    public void OversizedFrameIsRefusedFromItsHeaderAlone()
    {
        byte[] header = new byte[FrameHeader.Size];
        new FrameHeader(150, FrameFlags.None, FrameStatus.Ok, 1, 4097).Write(header);
        var buffer = new ReadOnlySequence<byte>(header);
        var ex = Assert.Throws<FrameProtocolException>(() => FrameReader.TryRead(ref buffer, 4096, out _, out _));
        Assert.Equal(FrameStatus.FrameTooLarge, ex.Status);
    }

    [Fact]
    public void OtherMajorVersionIsNamedInTheError()
    {
        byte[] header = new byte[FrameHeader.Size];
        new FrameHeader(2, 3, 150, FrameFlags.None, FrameStatus.Ok, 1, 0).Write(header);
        var buffer = new ReadOnlySequence<byte>(header);
        var ex = Assert.Throws<FrameProtocolException>(() => FrameReader.TryRead(ref buffer, 4096, out _, out _));
        Assert.Equal(FrameStatus.UnsupportedVersion, ex.Status);
        Assert.Contains("2.3", ex.Message);
    }

    [Fact]
    public void ErrorFrameOfAnotherMajorVersionIsStillReadable()
    {
        byte[] error = new byte[FrameHeader.Size];
        new FrameHeader(9, 0, MessageType.Error, FrameFlags.None, FrameStatus.UnsupportedVersion, 0, 12).Write(error);
        Assert.Equal(HeaderCheck.Valid, FrameHeader.TryParse(error, out FrameHeader parsed));
        Assert.Equal((byte)9, parsed.Major);
        Assert.Equal(FrameStatus.UnsupportedVersion, parsed.Status);
        Assert.Equal(12u, parsed.PayloadLength);

        error[31] ^= 1; // a damaged one is not
        Assert.Equal(HeaderCheck.UnsupportedVersion, FrameHeader.TryParse(error, out _));
    }

    [Fact]
    public void HelloRoundTripsAndRejectsMalformedPayloads()
    {
        var hello = new Hello(Guid.NewGuid(), "node-ä-7", 8 << 20, 64);
        var writer = new PooledBufferWriter();
        hello.Write(writer);
        byte[] bytes = writer.WrittenSpan.ToArray();

        Assert.True(Hello.TryRead(bytes, out Hello? parsed));
        Assert.Equal(hello, parsed);
        Assert.False(Hello.TryRead(bytes[..^1], out _));
        Assert.False(Hello.TryRead([.. bytes, 0], out _));
        byte[] zeroWindow = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(zeroWindow.AsSpan(20), 0);
        Assert.False(Hello.TryRead(zeroWindow, out _));
        byte[] badUtf8 = (byte[])bytes.Clone();
        badUtf8[^1] = 0xFF;
        Assert.False(Hello.TryRead(badUtf8, out _));
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        // RFC 3720 B.4 / the CRC catalogue: CRC-32C("123456789") = 0xE3069283.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }
}
