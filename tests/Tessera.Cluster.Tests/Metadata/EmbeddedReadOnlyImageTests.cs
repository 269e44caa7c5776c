using System.Text;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>
/// A second reader of an embedded store that a writer holds (what `tessera status --data` does
/// while `tessera up` runs): it must see a consistent prefix of the commits, take no lock and
/// write nothing, and tell whether a process holds the store.
/// </summary>
public sealed class EmbeddedReadOnlyImageTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-ro-" + Guid.NewGuid().ToString("N"));

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

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(ReadOnlyMemory<byte> b) => Encoding.UTF8.GetString(b.Span);

    // Read without a lock: File.ReadAllBytes would conflict with the writer's flock.
    private Dictionary<string, byte[]> Files() =>
        Directory.GetFiles(_directory).ToDictionary(f => Path.GetFileName(f), f => UnlockedFile.ReadAll(f)!);

    [Fact]
    public async Task An_image_reads_a_store_the_writer_holds_and_refuses_writes()
    {
        await using var writer = EmbeddedMetadataStore.Open(_directory);
        await writer.PutAsync("/a", B("1"));
        writer.Snapshot();
        await writer.PutAsync("/b", B("2"));
        long lease = await writer.GrantLeaseAsync(TimeSpan.FromMinutes(5));
        long revision = await writer.PutAsync("/tessera/nodes/1", B("{}"), lease);

        // A normal open fails: the writer's flock is exclusive.
        Assert.ThrowsAny<IOException>(() => EmbeddedMetadataStore.Open(_directory));
        Assert.Equal(Environment.ProcessId, StoreHolder.Find(_directory));

        var before = Files();
        await using (var image = EmbeddedMetadataStore.OpenReadOnly(_directory))
        {
            Assert.True(image.IsReadOnly);
            Assert.Equal(revision, image.Revision);
            Assert.Equal("1", S((await image.GetAsync("/a"))!.Value));
            Assert.Equal("2", S((await image.GetAsync("/b"))!.Value));
            Assert.Equal(lease, (await image.GetAsync("/tessera/nodes/1"))!.Lease);
            Assert.Equal(["/a", "/b", "/tessera/nodes/1"], (await image.GetRangeAsync("/")).Entries.Select(e => e.Key));
            Assert.Single((await image.TxnAsync([Compare.Exists("/a")], [TxnOp.GetPrefix("/")], [])).Responses); // read-only txns work
            await Assert.ThrowsAsync<MetadataStoreException>(() => image.PutAsync("/c", B("3")));
            await Assert.ThrowsAsync<MetadataStoreException>(() => image.DeleteAsync("/a"));
            await Assert.ThrowsAsync<MetadataStoreException>(() => image.GrantLeaseAsync(TimeSpan.FromSeconds(1)));
            await Assert.ThrowsAsync<MetadataStoreException>(() => image.RevokeLeaseAsync(lease));
            Assert.Throws<MetadataStoreException>(() => image.Snapshot());
        }

        // Nothing was written, and the writer goes on undisturbed.
        Assert.Equal(before.Keys.Order(), Files().Keys.Order());
        Assert.All(before, f => Assert.Equal(f.Value, Files()[f.Key]));
        long next = await writer.PutAsync("/c", B("3"));
        Assert.Equal(revision + 1, next);
        await using (var later = EmbeddedMetadataStore.OpenReadOnly(_directory))
        {
            Assert.Equal(next, later.Revision);
        }

        await writer.DisposeAsync();
        Assert.Null(StoreHolder.Find(_directory));
    }

    [Fact]
    public async Task An_image_stops_at_a_torn_tail_without_cutting_it()
    {
        long last;
        await using (var writer = EmbeddedMetadataStore.Open(_directory))
        {
            await writer.PutAsync("/a", B("1"));
            last = await writer.PutAsync("/b", B("2"));
        }

        string log = Path.Combine(_directory, MetadataLog.LogFileName);
        byte[] good = File.ReadAllBytes(log);
        // A record being appended: a header announcing 100 bytes, 10 of them written.
        byte[] torn = [.. good, 100, 0, 0, 0, 1, 2, 3, 4, .. new byte[10]];
        File.WriteAllBytes(log, torn);
        await using (var image = EmbeddedMetadataStore.OpenReadOnly(_directory))
        {
            Assert.Equal(last, image.Revision);
            Assert.Equal(2, (await image.GetRangeAsync("/")).Entries.Count);
        }

        Assert.Equal(torn, File.ReadAllBytes(log)); // the reader does not repair; the next writer open does
        Assert.Throws<MetadataStoreException>(() => EmbeddedMetadataStore.OpenReadOnly(Path.Combine(_directory, "nothing-here")));
        Assert.False(Directory.Exists(Path.Combine(_directory, "nothing-here")));
    }

    [Fact]
    public async Task Images_taken_while_the_writer_commits_and_snapshots_are_consistent_prefixes()
    {
        // Tiny snapshot threshold: the log is rewritten into a snapshot every few commits, so
        // readers race against snapshot renames and log truncations all the time.
        await using var writer = EmbeddedMetadataStore.Open(_directory, options: new EmbeddedStoreOptions { SnapshotThresholdBytes = 512 });
        using var stop = new CancellationTokenSource();
        int commits = 0;
        var writing = Task.Run(async () =>
        {
            // Each commit writes key i and the counter together: an image holds keys 0..n-1 exactly when the counter is n.
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                await writer.TxnAsync([], [TxnOp.Put($"/k/{i:D6}", B("x")), TxnOp.Put("/count", B((i + 1).ToString()))], []);
                Volatile.Write(ref commits, i + 1);
            }
        });

        long previous = 0;
        int images = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        try
        {
            while ((images < 300 || Volatile.Read(ref commits) < 2000) && DateTime.UtcNow < deadline)
            {
                await using var image = EmbeddedMetadataStore.OpenReadOnly(_directory);
                var count = await image.GetAsync("/count");
                int n = count is null ? 0 : int.Parse(S(count.Value));
                var keys = (await image.GetRangeAsync("/k/")).Entries;
                Assert.Equal(n, keys.Count);
                Assert.Equal(Enumerable.Range(0, n).Select(i => $"/k/{i:D6}"), keys.Select(k => k.Key));
                Assert.True(image.Revision >= previous, $"image went back from revision {previous} to {image.Revision}");
                previous = image.Revision;
                images++;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writing;
        }

        Assert.True(Volatile.Read(ref commits) >= 2000 && images >= 300, $"{commits} commits, {images} images in the time allowed");
    }
}
