using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>The committed context survives a restart of the embedded store and of every node's context.</summary>
public sealed class EmbeddedPersistenceContextTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-context-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task RestartOfStoreAndContextsRestoresTheState()
    {
        string volume = Guid.NewGuid().ToString("N");
        byte[] committed;
        await using (var store = EmbeddedMetadataStore.Open(_directory))
        {
            await using var cluster = await ContextCluster.StartAsync(store, 3, volume);
            // Every part of the state, changed through different nodes.
            await cluster[1].Context.ChangeAsync(s => (LuStateJsonTests.Rich(), true));
            await cluster[2].Context.ChangeAsync(s => TestChanges.Register(s, "iqn.2026-01.io.test:d,i,0x000000000004,t,0x0002", 0xD));
            await cluster[3].Context.ChangeAsync(s => (TestChanges.Enqueue(s, LuStateJsonTests.NexusB, UnitAttention.ReservationsReleased), true));
            committed = LuStateJson.Serialize(cluster[1].Context.Current);
            Assert.All(cluster.Nodes, n => Assert.Equal(committed, LuStateJson.Serialize(n.Context.Current)));
        }

        await using (var store = EmbeddedMetadataStore.Open(_directory))
        {
            // Opening with a different initial state must load the committed one, not overwrite it.
            await using var cluster = await ContextCluster.StartAsync(store, 3, volume);
            Assert.All(cluster.Nodes, n => Assert.Equal(committed, LuStateJson.Serialize(n.Context.Current)));
            var pr = cluster[2].Context.Current.PersistentReservations;
            Assert.Equal(0xFFFFFFFFu, pr.Generation);
            Assert.Equal(new PersistentReservation(LuStateJsonTests.NexusA, 0x01), pr.Reservation);
            Assert.Equal(UnitAttention.ReservationsReleased, TestChanges.QueueOf(cluster[3].Context.Current, LuStateJsonTests.NexusB)[^1]);

            // And the restored cluster goes on committing from there.
            uint next = await cluster[3].Context.ChangeAsync(s => TestChanges.Register(s, "iqn.2026-01.io.test:e,i,0x000000000005,t,0x0003", 0xE));
            Assert.Equal(0u, next); // PRgeneration wraps (SPC-5 6.16.2: 32-bit counter)
            Assert.All(cluster.Nodes, n => Assert.Equal(0u, n.Context.Current.PersistentReservations.Generation));
        }
    }
}
