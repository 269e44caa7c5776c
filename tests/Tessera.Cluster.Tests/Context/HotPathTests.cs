using Tessera.Cluster.Metadata.Embedded;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

public sealed class HotPathTests
{
    [Fact]
    public async Task ReadingTheAppliedCopyAllocatesNothing()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        await using var cluster = await ContextCluster.StartAsync(store, 2);
        ILuContext context = cluster[1].Context;
        await context.ChangeAsync(s => TestChanges.Register(s, LuStateJsonTests.NexusA, 1));
        bool quiet = false;
        for (int i = 0; i < 100; i++)
        {
            quiet ^= context.Current.IsQuiet;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            quiet ^= context.Current.IsQuiet;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.False(quiet); // registrations exist: never quiet; also keeps the loop from being dropped
    }
}
