using System.Buffers;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>What only the TCP composition has: real connections that die, and peers that send garbage.</summary>
public sealed class RemoteNodeTests
{
    /// <summary>
    /// A node's process dies (its listener and links go away) before membership has noticed: chunk
    /// I/O to it fails fast as <see cref="NodeUnavailableException"/>, and reads of its columns fall
    /// back to parity (the portal through the owner, the owner treating the unreachable column as
    /// missing). Once the node is marked down and its sub-units move, writes go on too.
    /// </summary>
    [Fact]
    public async Task ReadsSurviveANodeWhoseProcessDiedBeforeMembershipNoticed()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 512 << 10, wire: Wire.Tcp);
        VolumeLayout layout = fixture.Layout;
        byte[] reference = new byte[layout.SizeBytes];
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 5, operations: 200, maxBlocks: 64);

        // Its sub-units have moved already (an owner must answer), but its chunks are still placed on it.
        const int Dead = 3;
        for (long u = 0; u < layout.SubUnitCount; u++)
        {
            if (fixture.Volume.Ownership.Owner(u).Value == Dead)
            {
                fixture.Volume.Ownership.Reassign(u, new NodeId(4));
            }
        }

        await fixture.Cluster.Hosts![Dead].DisposeAsync();
        long stripe = Enumerable.Range(0, (int)layout.StripeCount).First(s => layout.ColumnOf(s, new NodeId(Dead)) == 0);
        var error = await Assert.ThrowsAsync<NodeUnavailableException>(async () =>
            await fixture.Cluster.Hosts[0].Chunks.ReadAsync(new NodeId(Dead), new ChunkAddress(layout.VolumeId, stripe, 0), 0, new byte[512]));
        Assert.Equal(new NodeId(Dead), error.Node);
        foreach (int node in new[] { 0, 2, 5 })
        {
            await ReferenceWorkload.VerifyAllAsync(fixture.View(node), reference, $"node {Dead} dead, not yet marked down: read via {node}");
        }

        fixture.Cluster.MarkDown(new NodeId(Dead));
        await ReferenceWorkload.RunAsync(fixture, reference, seed: 6, operations: 150, maxBlocks: 64, n => n != Dead);
        await ReferenceWorkload.VerifyAllAsync(fixture.View(1), reference, "after degraded writes");
    }

    /// <summary>Malformed volume frames are answered with a status (requests) or dropped (one-way); the link and the node keep serving.</summary>
    [Fact]
    public async Task MalformedVolumeFramesAreAnsweredAndTheNodeKeepsServing()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 256 << 10, wire: Wire.Tcp);
        NodeVolumeHost target = fixture.Cluster.Hosts![1];
        await using var link = new PeerLink(target.Server.LocalEndPoint, new InterNodeOptions { ClusterId = target.Options.ClusterId, NodeId = "probe" });

        foreach (ushort type in new[] { MessageType.VolumeOwnerPart, MessageType.ChunkRead, MessageType.ChunkWrite, MessageType.ChunkStatus, MessageType.ChunkUnmapStripes })
        {
            using Response response = await link.SendRequestAsync(type, new byte[] { 1, 2, 3 });
            Assert.Equal((FrameStatus)VolumeStatus.InvalidArgument, response.Status);
        }

        // A well-formed part for a volume the node does not have.
        var stranger = new OwnerRequest
        {
            Operation = OwnerOperation.Write,
            Volume = Guid.NewGuid(),
            Segments = [new OwnerSegment(0, 512, 0, 0, 1)],
            Data = new byte[512],
        };
        using (Response response = await link.SendRequestAsync(MessageType.VolumeOwnerPart, stranger, OwnerPartFrame.Writer))
        {
            Assert.Equal((FrameStatus)VolumeStatus.InvalidOperation, response.Status);
            Assert.IsType<InvalidOperationException>(VolumeErrors.ToException(response.Status, response.Span, new NodeId(1)));
        }

        // A chunk read larger than a chunk is refused before any buffer is taken for it.
        using (Response response = await link.SendRequestAsync(MessageType.ChunkRead, (fixture.Layout.VolumeId, fixture.Layout.ChunkSize), static (w, s) =>
            ChunkFrames.WriteRange(w, new ChunkAddress(s.VolumeId, 1, 0), 0, int.MaxValue)))
        {
            Assert.Equal((FrameStatus)VolumeStatus.InvalidArgument, response.Status);
        }

        // One-way garbage is logged and counted, nothing else.
        long failures = target.Server.HandlerFailures;
        await link.SendOneWayAsync(MessageType.VolumeOrderedPart, 0, static (w, _) => w.Write<byte>([9, 9, 9]));
        await link.SendOneWayAsync(MessageType.VolumeCawVote, 0, static (w, _) => w.Write<byte>([9]));
        await Tessera.Cluster.Tests.Transport.TransportHost.WaitUntil(() => target.Server.HandlerFailures >= failures + 2, "one-way failures counted");

        Assert.True(link.IsConnected);
        byte[] data = new byte[4096];
        new Random(1).NextBytes(data);
        await fixture.View(1).WriteAsync(8, data, WriteFlags.None);
        byte[] back = new byte[4096];
        await fixture.View(4).ReadAsync(8, back);
        Assert.Equal(data, back);
    }

    /// <summary>A stale map is refused by the remote owner as <see cref="StaleOwnershipException"/> and the portal's retry succeeds.</summary>
    [Fact]
    public async Task ARemoteOwnerRefusesAStaleEpochAndThePortalRetries()
    {
        await using var fixture = ClusterFixture.Create(sizeBytes: 256 << 10, wire: Wire.Tcp);
        NodeId owner = fixture.Volume.Ownership.Owner(1);
        var request = new OwnerRequest
        {
            Operation = OwnerOperation.Write,
            Volume = fixture.Layout.VolumeId,
            Origin = new NodeId((owner.Value + 1) % 6),
            Segments = [new OwnerSegment(fixture.Layout.SubUnitStart(1), 512, 0, 1, Epoch: 99)],
            Data = new byte[512],
        };
        var stale = await Assert.ThrowsAsync<StaleOwnershipException>(async () =>
            await fixture.Cluster.Hosts![request.Origin.Value].Owners.ExecuteAsync(owner, request));
        Assert.Equal((1L, 99L, 1L), (stale.SubUnit, stale.ExpectedEpoch, stale.ActualEpoch));

        // The map moves between the portal's snapshot and the owner's check: one retry, no error.
        DistributedVolume portal = fixture.View(request.Origin.Value);
        fixture.Volume.Ownership.Reassign(1, owner);
        await portal.WriteAsync(fixture.Layout.SubUnitStart(1) / 512, new byte[512], WriteFlags.None);
    }
}
