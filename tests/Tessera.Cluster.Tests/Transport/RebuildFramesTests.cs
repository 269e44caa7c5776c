using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Tests.Volume;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>The stale-column rebuild frames (types 105-106): round trips, and every malformed length or value refused.</summary>
public sealed class RebuildFramesTests
{
    private static readonly Guid VolumeId = new("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

    [Fact]
    public void BeginRoundTripsAndRefusesOtherLengthsAndNegativeNodes()
    {
        var writer = new ArrayBufferWriter<byte>();
        RebuildFrames.WriteBegin(writer, new NodeId(5));
        Assert.Equal(RebuildFrames.BeginSize, writer.WrittenCount);
        Assert.True(RebuildFrames.TryReadBegin(writer.WrittenSpan, out NodeId node));
        Assert.Equal(new NodeId(5), node);

        for (int length = 0; length <= 8; length++)
        {
            if (length != RebuildFrames.BeginSize)
            {
                Assert.False(RebuildFrames.TryReadBegin(new byte[length], out _), $"length {length}");
            }
        }

        Assert.False(RebuildFrames.TryReadBegin([0xFF, 0xFF, 0xFF, 0xFF], out _));
    }

    [Fact]
    public void SubUnitRoundTripsAndRefusesOtherLengthsAndNegativeFields()
    {
        var writer = new ArrayBufferWriter<byte>();
        RebuildFrames.WriteSubUnit(writer, VolumeId, 1234567890123, 42, new NodeId(3));
        byte[] frame = writer.WrittenSpan.ToArray();
        Assert.Equal(RebuildFrames.SubUnitSize, frame.Length);
        Assert.True(RebuildFrames.TryReadSubUnit(frame, out Guid volume, out long subUnit, out long epoch, out NodeId node));
        Assert.Equal((VolumeId, 1234567890123L, 42L, new NodeId(3)), (volume, subUnit, epoch, node));

        Assert.False(RebuildFrames.TryReadSubUnit(frame.AsSpan(0, frame.Length - 1), out _, out _, out _, out _));
        Assert.False(RebuildFrames.TryReadSubUnit([.. frame, 0], out _, out _, out _, out _));
        foreach (int at in new[] { 16, 24, 32 })   // sub-unit, epoch, node: sign bit set
        {
            byte[] negative = [.. frame];
            negative[at] |= 0x80;
            Assert.False(RebuildFrames.TryReadSubUnit(negative, out _, out _, out _, out _), $"negative field at {at}");
        }

        writer.Clear();
        RebuildFrames.WriteSubUnitResponse(writer, 64);
        Assert.True(RebuildFrames.TryReadSubUnitResponse(writer.WrittenSpan, out long stripes));
        Assert.Equal(64, stripes);
        Assert.False(RebuildFrames.TryReadSubUnitResponse(new byte[7], out _));
        Assert.False(RebuildFrames.TryReadSubUnitResponse([0x80, 0, 0, 0, 0, 0, 0, 0], out _));
    }

    /// <summary>Over the wire: malformed rebuild frames are answered InvalidArgument, a begin for a node that is not stale InvalidOperation.</summary>
    [Fact]
    public async Task ANodeAnswersMalformedAndPrematureRebuildRequests()
    {
        await using var cluster = StaleRebuildCluster.Create(sizeBytes: 256 << 10);
        NodeVolumeHost target = cluster.Hosts[1];
        await using var link = new PeerLink(target.Server.LocalEndPoint, new InterNodeOptions { ClusterId = target.Options.ClusterId, NodeId = "probe" });
        foreach (ushort type in new[] { MessageType.VolumeRebuildBegin, MessageType.VolumeRebuildSubUnit })
        {
            using Response response = await link.SendRequestAsync(type, new byte[] { 1, 2, 3 });
            Assert.Equal((FrameStatus)VolumeStatus.InvalidArgument, response.Status);
        }

        using (Response response = await link.SendRequestAsync(MessageType.VolumeRebuildBegin, new NodeId(2), static (w, n) => RebuildFrames.WriteBegin(w, n)))
        {
            Assert.Equal((FrameStatus)VolumeStatus.InvalidOperation, response.Status);
        }

        // No session begun: a sub-unit rebuild is refused too.
        using (Response response = await link.SendRequestAsync(MessageType.VolumeRebuildSubUnit, cluster.Layout.VolumeId,
            static (w, v) => RebuildFrames.WriteSubUnit(w, v, 0, 1, new NodeId(2))))
        {
            Assert.Equal((FrameStatus)VolumeStatus.InvalidOperation, response.Status);
        }
    }
}
