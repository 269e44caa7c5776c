using System.Buffers.Binary;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Buffers;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>
/// The volume I/O codecs (types 100-115): every field round-trips, and decoders refuse every
/// truncation, trailing byte, bad count and random corruption without throwing.
/// </summary>
public sealed class VolumeFramesTests
{
    private static readonly Guid VolumeId = new("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

    [Theory]
    [InlineData(1)] // Read
    [InlineData(2)] // Write
    [InlineData(3)] // Unmap
    [InlineData(4)] // CompareAndWrite
    public void OwnerPartRoundTripsWithOnlyItsSegmentsBytes(byte op)
    {
        var operation = (OwnerOperation)op;
        // A 3-segment request buffer; this owner holds segments 0 and 2 (not contiguous in the request).
        byte[] data = Pattern(4000, 1), compare = Pattern(4000, 2);
        OwnerRequest request = Request(operation, data, compare, owners: [new(1), new(4), new(5)],
            new OwnerSegment(10_000, 512, 0, 7, 3), new OwnerSegment(12_048, 1024, 2048, 9, 5));
        byte[] frame = Encode(request);
        Assert.Equal(OwnerPartFrame.SizeOf(request), frame.Length);

        Assert.True(OwnerPartFrame.TryParse(frame, out OwnerPartFrame part, out string? error), error);
        Assert.Equal(operation, part.Operation);
        Assert.Equal(WriteFlags.Fua, part.Flags);
        Assert.Equal(VolumeId, part.Volume);
        Assert.Equal(new NodeId(4), part.Origin);
        Assert.Equal(request.Id, part.Id);
        Assert.Equal([new NodeId(1), new NodeId(4), new NodeId(5)], part.Owners());
        Assert.Equal(1536, part.Bytes);
        Assert.Equal(new OwnerSegment(10_000, 512, 0, 7, 3), part.Segment(0, 0));
        Assert.Equal(new OwnerSegment(12_048, 1024, 512, 9, 5), part.Segment(1, 512));
        Assert.Equal(2048, part.RequestOffset(1));

        // Compact offsets map back to the request's: byte 600 of the part is byte 88 of segment 2.
        Assert.Equal(-1, part.ToRequestOffset(-1));
        Assert.Equal(5, part.ToRequestOffset(5));
        Assert.Equal(2048 + 88, part.ToRequestOffset(600));
        Assert.Throws<ArgumentOutOfRangeException>(() => part.ToRequestOffset(1536));

        byte[] expectedData = [.. data.AsSpan(0, 512), .. data.AsSpan(2048, 1024)];
        byte[] expectedCompare = [.. compare.AsSpan(0, 512), .. compare.AsSpan(2048, 1024)];
        switch (operation)
        {
            case OwnerOperation.Write:
                Assert.Equal(expectedData, part.Data.ToArray());
                Assert.True(part.Compare.IsEmpty);
                break;
            case OwnerOperation.CompareAndWrite:
                Assert.Equal(expectedData, part.Data.ToArray());
                Assert.Equal(expectedCompare, part.Compare.ToArray());
                break;
            default:
                Assert.True(part.Data.IsEmpty);
                Assert.True(part.DataArea.IsEmpty);
                break;
        }

        OwnerRequest rebuilt = part.ToRequest(part.Data, part.Compare, default);
        Assert.Equal([part.Segment(0, 0), part.Segment(1, 512)], rebuilt.Segments);
        Assert.True(rebuilt.IsOrdered);
    }

    [Fact]
    public void OwnerPartDecoderRefusesEveryTruncationAndATrailingByte()
    {
        byte[] frame = Encode(Request(OwnerOperation.CompareAndWrite, Pattern(1024, 3), Pattern(1024, 4), owners: [new(0), new(2)],
            new OwnerSegment(0, 512, 0, 0, 1), new OwnerSegment(65536, 512, 512, 1, 1)));
        for (int length = 0; length < frame.Length; length++)
        {
            Assert.False(OwnerPartFrame.TryParse(frame.AsMemory(0, length), out _, out string? error), $"prefix of {length} bytes");
            Assert.NotNull(error);
        }

        Assert.False(OwnerPartFrame.TryParse((byte[])[.. frame, 0], out _, out _));
    }

    [Theory]
    [InlineData(0, 0)]      // operation 0
    [InlineData(0, 9)]      // unknown operation
    [InlineData(1, 0x80)]   // unknown write flag
    [InlineData(2, 1)]      // 257 segments: lengths disagree
    [InlineData(3, 0)]      // 0 segments
    [InlineData(33, 1)]     // one owner: an owner set has 0 or ≥ 2 members
    [InlineData(35, 1)]     // reserved
    [InlineData(39, 0x11)]  // data length disagrees
    public void OwnerPartDecoderRefusesBadFields(int offset, byte value)
    {
        byte[] frame = Encode(Request(OwnerOperation.Write, Pattern(1024, 5), default, owners: [], new OwnerSegment(4096, 1024, 0, 0, 1)));
        Assert.True(OwnerPartFrame.TryParse(frame, out _, out _));
        frame[offset] = value;
        Assert.False(OwnerPartFrame.TryParse(frame, out _, out string? error));
        Assert.NotNull(error);
    }

    [Fact]
    public void OwnerPartDecoderRefusesBadSegmentsAndUnsortedOwners()
    {
        byte[] unsorted = Encode(Request(OwnerOperation.Unmap, default, default, owners: [new(3), new(1)], new OwnerSegment(0, 512, 0, 0, 1)));
        Assert.False(OwnerPartFrame.TryParse(unsorted, out _, out string? why));
        Assert.Contains("increasing", why);

        byte[] frame = Encode(Request(OwnerOperation.Unmap, default, default, owners: [], new OwnerSegment(0, 512, 0, 0, 1)));
        int segment = OwnerPartFrame.HeaderSize;
        foreach ((int field, long value) in new[] { (0, -1L), (8, 0L), (8, -5L), (8, (long)int.MaxValue + 1), (16, -1L), (24, -1L) })
        {
            byte[] bad = (byte[])frame.Clone();
            BinaryPrimitives.WriteInt64BigEndian(bad.AsSpan(segment + field), value);
            Assert.False(OwnerPartFrame.TryParse(bad, out _, out _), $"segment field {field} = {value}");
        }
    }

    [Fact]
    public void RandomCorruptionOfEveryDecoderNeverThrows()
    {
        var random = new Random(17);
        byte[][] seeds =
        [
            Encode(Request(OwnerOperation.CompareAndWrite, Pattern(2048, 6), Pattern(2048, 7), owners: [new(0), new(3), new(5)],
                new OwnerSegment(0, 1024, 0, 0, 2), new OwnerSegment(70_000, 1024, 1024, 1, 2))),
            Chunk(w => ChunkFrames.WriteWrite(w, new ChunkAddress(VolumeId, 3, 2), 512, WriteFlags.Fua, Pattern(512, 8))),
            Chunk(w => ChunkFrames.WriteRange(w, new ChunkAddress(VolumeId, 3, 2), 512, 1024)),
            Chunk(w => PartReplyFrames.WritePartDone(w, RequestId.Create(new NodeId(2), 9), new NodeId(4), 0x101, -1)),
        ];
        int parsed = 0;
        for (int round = 0; round < 20_000; round++)
        {
            byte[] frame = (byte[])seeds[round % seeds.Length].Clone();
            int flips = 1 + random.Next(4);
            for (int f = 0; f < flips; f++)
            {
                frame[random.Next(frame.Length)] = (byte)random.Next(256);
            }

            int length = random.Next(4) == 0 ? random.Next(frame.Length + 1) : frame.Length;
            ReadOnlyMemory<byte> payload = frame.AsMemory(0, length);
            if (OwnerPartFrame.TryParse(payload, out OwnerPartFrame part, out _))
            {
                // Whatever decodes is internally consistent: every accessor stays inside the payload.
                parsed++;
                _ = part.Owners();
                _ = part.ToRequest(part.Data, part.Compare, default);
                _ = part.ToRequestOffset(part.Bytes - 1);
            }

            ChunkFrames.TryReadWrite(payload, out _, out _, out _, out _);
            ChunkFrames.TryReadRange(payload.Span, out _, out _, out _);
            ChunkFrames.TryReadUnmapStripes(payload.Span, out _, out _, out _);
            ChunkFrames.TryReadStatusResponse(payload.Span, out _, out _);
            PartReplyFrames.TryReadPartDone(payload.Span, out _, out _, out _, out _, out _);
            PartReplyFrames.TryReadVote(payload.Span, out _, out _, out _);
            PartReplyFrames.TryReadDecision(payload.Span, out _, out _);
            OrderingFrames.TryReadScope(payload.Span, out _);
        }

        Assert.True(parsed > 0, "some corruptions (of data bytes) still decode");
    }

    [Fact]
    public void ChunkFramesRoundTripAndRefuseWrongLengths()
    {
        var address = new ChunkAddress(VolumeId, long.MaxValue / 3, 5);
        byte[] data = Pattern(4096, 9);
        byte[] write = Chunk(w => ChunkFrames.WriteWrite(w, address, 8192, WriteFlags.Fua, data));
        Assert.True(ChunkFrames.TryReadWrite(write, out ChunkAddress a, out int offset, out WriteFlags flags, out ReadOnlyMemory<byte> payload));
        Assert.Equal((address, 8192, WriteFlags.Fua), (a, offset, flags));
        Assert.Equal(data, payload.ToArray());
        write[ChunkFrames.AddressSize + 2] = 1; // reserved
        Assert.False(ChunkFrames.TryReadWrite(write, out _, out _, out _, out _));

        byte[] read = Chunk(w => ChunkFrames.WriteRange(w, address, 512, 65536));
        Assert.True(ChunkFrames.TryReadRange(read, out a, out offset, out int length));
        Assert.Equal((address, 512, 65536), (a, offset, length));
        Assert.False(ChunkFrames.TryReadRange(read.AsSpan(0, read.Length - 1), out _, out _, out _));
        Assert.False(ChunkFrames.TryReadRange((byte[])[.. read, 0], out _, out _, out _));
        BinaryPrimitives.WriteInt32BigEndian(read.AsSpan(28), -1);
        Assert.False(ChunkFrames.TryReadRange(read, out _, out _, out _));

        byte[] stripes = Chunk(w => ChunkFrames.WriteUnmapStripes(w, VolumeId, 12, 34));
        Assert.True(ChunkFrames.TryReadUnmapStripes(stripes, out Guid volume, out long first, out long count));
        Assert.Equal((VolumeId, 12L, 34L), (volume, first, count));

        byte[] flush = Chunk(w => ChunkFrames.WriteVolume(w, VolumeId));
        Assert.True(ChunkFrames.TryReadVolume(flush, out volume));
        Assert.Equal(VolumeId, volume);
        Assert.False(ChunkFrames.TryReadVolume(flush.AsSpan(1), out _));

        byte[] status = Chunk(w => ChunkFrames.WriteStatusResponse(w, true, 4096));
        Assert.True(ChunkFrames.TryReadStatusResponse(status, out bool mapped, out length));
        Assert.Equal((true, 4096), (mapped, length));
        status[0] = 2;
        Assert.False(ChunkFrames.TryReadStatusResponse(status, out _, out _));
    }

    [Fact]
    public void PartRepliesRoundTrip()
    {
        RequestId id = RequestId.Create(new NodeId(3), 123456);
        byte[] done = Chunk(w =>
        {
            PartReplyFrames.WritePartDone(w, id, new NodeId(5), (ushort)VolumeStatus.IoError, -1);
            w.Write("disk on fire"u8);
        });
        Assert.True(PartReplyFrames.TryReadPartDone(done, out RequestId readId, out NodeId owner, out ushort status, out int miscompare, out ReadOnlySpan<byte> error));
        Assert.Equal((id, new NodeId(5), (ushort)VolumeStatus.IoError, -1), (readId, owner, status, miscompare));
        Assert.Equal("disk on fire"u8.ToArray(), error.ToArray());

        byte[] okWithDetail = Chunk(w =>
        {
            PartReplyFrames.WritePartDone(w, id, new NodeId(5), 0, 17);
            w.Write([1]);
        });
        Assert.False(PartReplyFrames.TryReadPartDone(okWithDetail, out _, out _, out _, out _, out _));

        byte[] vote = Chunk(w => PartReplyFrames.WriteVote(w, id, new NodeId(1), 4097));
        Assert.True(PartReplyFrames.TryReadVote(vote, out readId, out NodeId voter, out miscompare));
        Assert.Equal((id, new NodeId(1), 4097), (readId, voter, miscompare));
        BinaryPrimitives.WriteInt32BigEndian(vote.AsSpan(12), -2);
        Assert.False(PartReplyFrames.TryReadVote(vote, out _, out _, out _));

        foreach (CawDecision decision in Enum.GetValues<CawDecision>())
        {
            byte[] frame = Chunk(w => PartReplyFrames.WriteDecision(w, id, decision));
            Assert.True(PartReplyFrames.TryReadDecision(frame, out readId, out CawDecision read));
            Assert.Equal((id, decision), (readId, read));
        }

        Assert.False(PartReplyFrames.TryReadDecision((byte[])[.. new byte[8], 3], out _, out _));
    }

    [Fact]
    public void VolumeErrorsComeBackAsTheSameExceptions()
    {
        var peer = new NodeId(2);
        Exception Round(Exception error)
        {
            var writer = new PooledBufferWriter();
            FrameStatus status = VolumeErrors.Write(writer, error);
            Assert.Equal(status, VolumeErrors.StatusOf(error));
            return VolumeErrors.ToException(status, writer.WrittenSpan, peer);
        }

        var unavailable = Assert.IsType<NodeUnavailableException>(Round(new NodeUnavailableException(new NodeId(4))));
        Assert.Equal(new NodeId(4), unavailable.Node);
        var stale = Assert.IsType<StaleOwnershipException>(Round(new StaleOwnershipException(12, 3, 4)));
        Assert.Equal((12L, 3L, 4L), (stale.SubUnit, stale.ExpectedEpoch, stale.ActualEpoch));
        Assert.Contains("does not hold", Assert.IsType<InvalidOperationException>(Round(new InvalidOperationException("node n2 does not hold chunk x"))).Message);
        Assert.IsType<ArgumentException>(Round(new ArgumentOutOfRangeException("offset", "bad range")));
        Assert.Contains("EIO", Assert.IsType<IOException>(Round(new IOException("EIO"))).Message);
        Assert.Contains("NullReferenceException", Assert.IsType<IOException>(Round(new NullReferenceException())).Message);
        Assert.Contains("x".PadRight(1024, 'x'), Round(new IOException(new string('x', 5000))).Message);

        // A truncated payload still gives an exception, never a crash.
        Assert.IsType<IOException>(VolumeErrors.ToException((FrameStatus)VolumeStatus.StaleOwnership, [1, 2], peer));
        Assert.IsType<IOException>(VolumeErrors.ToException(FrameStatus.HandlerFailed, "boom"u8, peer));
    }

    [Fact]
    public void ScopedOrderingFramesCarryTheVolume()
    {
        NodeId[] owners = [new(1), new(2)];
        OrderingMessage token = OrderingMessage.Token(RequestId.Create(new NodeId(1), 3), new NodeId(1), owners, 99);
        var writer = new PooledBufferWriter();
        OrderingFrames.WriteScoped(writer, token, VolumeId);
        Assert.True(OrderingFrames.TryRead(MessageType.OrderingToken, writer.WrittenSpan, out OrderingMessage read, out int consumed));
        Assert.Equal(token.Timestamp, read.Timestamp);
        Assert.True(OrderingFrames.TryReadScope(writer.WrittenSpan[consumed..], out Guid scope));
        Assert.Equal(VolumeId, scope);
        Assert.False(OrderingFrames.TryReadScope(writer.WrittenSpan[(consumed + 1)..], out _));
    }

    private static OwnerRequest Request(OwnerOperation operation, byte[]? data, byte[]? compare, NodeId[] owners, params OwnerSegment[] segments) => new()
    {
        Operation = operation,
        Volume = VolumeId,
        Origin = new NodeId(4),
        Id = owners.Length > 0 ? RequestId.Create(new NodeId(4), 42) : default,
        Owners = owners,
        Segments = segments,
        Data = data,
        Compare = compare,
        Flags = WriteFlags.Fua,
    };

    private static byte[] Encode(OwnerRequest request)
    {
        var writer = new PooledBufferWriter();
        OwnerPartFrame.Write(writer, request);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Chunk(Action<PooledBufferWriter> write)
    {
        var writer = new PooledBufferWriter();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
