using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Status;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>The deterministic pieces: owner choice, node order, range text, and the view's hot path.</summary>
public sealed class OwnershipPrimitivesTests
{
    private static VolumeRecord Volume(params string[] placement) => new()
    {
        Id = Guid.NewGuid(),
        Name = "v",
        Lun = 0,
        SizeBytes = 64L << 20,
        BlockSize = 512,
        PhysicalBlockSize = 512,
        DataColumns = 4,
        ChunkSize = 64 * 1024,
        StripesPerSubUnit = 1,
        Placement = placement,
    };

    [Fact]
    public void Owner_choice_prefers_round_robin_and_spreads_a_dead_nodes_share_over_survivors()
    {
        var v = Volume("a", "b", "c", "d", "e", "f");
        var all = v.Placement.ToHashSet();
        Assert.Equal(Enumerable.Range(0, 12).Select(u => v.Placement[u % 6]), Enumerable.Range(0, 12).Select(u => OwnerChoice.Choose(v, u, all)));

        // c is out: its sub-units 2, 8, 14, 20, 26 go to five different survivors; the rest stay.
        var live = all.Where(n => n != "c").ToHashSet();
        var moved = new[] { 2, 8, 14, 20, 26 }.Select(u => OwnerChoice.Choose(v, u, live)!).ToList();
        Assert.Equal(["a", "b", "d", "e", "f"], moved.Order());
        Assert.Equal("d", OwnerChoice.Choose(v, 3, live));

        // Nodes outside the placement never own; nobody live → null.
        Assert.Null(OwnerChoice.Choose(v, 0, new HashSet<string> { "z" }));
        Assert.Equal("f", OwnerChoice.Choose(v, 0, new HashSet<string> { "z", "f" }));
    }

    [Fact]
    public void Node_order_sorts_numbers_by_value_before_names()
    {
        Assert.Equal(["1", "2", "010", "10", "a", "b10", "b9"], new[] { "b9", "10", "a", "2", "010", "1", "b10" }.Order(NodeOrder.Instance));
    }

    [Fact]
    public void Ranges_are_compact()
    {
        Assert.Equal("", ClusterStatus.Ranges([]));
        Assert.Equal("0-3,7,9-10", ClusterStatus.Ranges([0, 1, 2, 3, 7, 9, 10]));
        Assert.Equal("5", ClusterStatus.Ranges([5]));
    }

    [Fact]
    public async Task The_view_answers_owner_and_epoch_without_allocating()
    {
        await using IMetadataStore store = EmbeddedMetadataStore.Open(null);
        var volume = Volume("1", "2", "3", "4", "5", "6");
        await store.PutJsonAsync(MetadataKeysFor(volume, 3), new OwnerRecord("5", 1, OwnerState.Held, 1), MetadataJsonContext.Default.OwnerRecord);
        await using var view = await MetadataOwnershipView.StartAsync(store, volume);
        Assert.Equal((new NodeId(4), 1L), (view.Owner(3), view.Epoch(3)));
        Assert.Equal((MetadataOwnershipView.NoOwner, 0L), (view.Owner(0), view.Epoch(0)));

        long sum = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            sum += view.Owner(i % view.SubUnitCount).Value + view.Epoch(i % view.SubUnitCount);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0, sum);
    }

    private static string MetadataKeysFor(VolumeRecord volume, int subUnit) => MetadataKeys.Owner(volume.Key, subUnit);
}
