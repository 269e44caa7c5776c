using System.Text;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>Durability of the embedded store: reopen, snapshots, torn and garbage log tails.</summary>
public sealed class EmbeddedPersistenceTests : IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-meta-" + Guid.NewGuid().ToString("N"));

    private string LogPath => Path.Combine(_directory, MetadataLog.LogFileName);

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

    private EmbeddedMetadataStore Open(EmbeddedStoreOptions? options = null) => EmbeddedMetadataStore.Open(_directory, _time, options);

    private static async Task<List<KeyValueEntry>> AllAsync(IMetadataStore store) => (await store.GetRangeAsync("")).Entries.ToList();

    [Fact]
    public async Task Reopen_restores_keys_versions_revision_and_leases()
    {
        List<KeyValueEntry> before;
        long revision;
        long lease;
        await using (var store = Open())
        {
            await store.PutAsync("/a", B("1"));
            await store.PutAsync("/a", B("2"));
            await store.TxnAsync([Compare.Absent("/b")], [TxnOp.Put("/b", B("b")), TxnOp.Put("/c", B("c"))], []);
            await store.DeleteAsync("/c");
            lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(10));
            await store.PutAsync("/leased", B("l"), lease);
            before = await AllAsync(store);
            revision = store.Revision;
        }

        await using (var store = Open())
        {
            Assert.Equal(revision, store.Revision);
            var after = await AllAsync(store);
            Assert.Equal(before.Select(e => (e.Key, S(e.Value), e.CreateRevision, e.ModRevision, e.Version, e.Lease)), after.Select(e => (e.Key, S(e.Value), e.CreateRevision, e.ModRevision, e.Version, e.Lease)));
            Assert.Equal(revision + 1, await store.PutAsync("/d", B("d")));
            Assert.NotEqual(lease, await store.GrantLeaseAsync(TimeSpan.FromSeconds(1))); // ids never reused

            // The lease survived with a fresh TTL and still expires.
            Assert.NotNull(await store.RefreshLeaseAsync(lease));
            _time.Advance(TimeSpan.FromSeconds(11));
            Assert.Null(await store.GetAsync("/leased"));
        }

        await using (var store = Open())
        {
            Assert.Null(await store.GetAsync("/leased"));
            Assert.Null(await store.RefreshLeaseAsync(lease));
        }
    }

    [Fact]
    public async Task Snapshot_then_more_writes_survive_reopen_and_history_follows_the_log()
    {
        long afterSnapshot;
        await using (var store = Open())
        {
            for (int i = 0; i < 10; i++)
            {
                await store.PutAsync($"/k/{i}", B($"v{i}"));
            }

            store.Snapshot();
            Assert.Equal(0, new FileInfo(LogPath).Length);
            afterSnapshot = store.Revision + 1;
            await store.PutAsync("/k/0", B("changed"));
            await store.DeleteAsync("/k/1");
        }

        await using (var store = Open())
        {
            var all = await AllAsync(store);
            Assert.Equal(9, all.Count);
            Assert.Equal("changed", S(all.Single(e => e.Key == "/k/0").Value));
            Assert.Equal(2, all.Single(e => e.Key == "/k/0").Version);

            // Events replayed from the log are watchable; revisions folded into the snapshot are compacted.
            await using var events = store.WatchAsync("/k/", afterSnapshot).GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync());
            Assert.Equal((WatchEventType.Put, "/k/0", afterSnapshot), (events.Current.Type, events.Current.Key, events.Current.Revision));
            Assert.True(await events.MoveNextAsync());
            Assert.Equal((WatchEventType.Delete, "/k/1"), (events.Current.Type, events.Current.Key));
            await Assert.ThrowsAsync<MetadataCompactedException>(async () =>
            {
                await foreach (var _ in store.WatchAsync("/k/", afterSnapshot - 1))
                {
                }
            });
        }
    }

    [Fact]
    public async Task Torn_last_record_is_ignored_and_later_writes_append_after_the_good_ones()
    {
        await using (var store = Open())
        {
            await store.PutAsync("/a", B("a"));
            await store.PutAsync("/b", B("b"));
            await store.PutAsync("/c", B("the last record, to be torn"));
        }

        // A crash mid-append: the last record lost its final bytes.
        using (var log = new FileStream(LogPath, FileMode.Open))
        {
            log.SetLength(log.Length - 7);
        }

        long revision;
        await using (var store = Open())
        {
            Assert.Equal(["/a", "/b"], (await AllAsync(store)).Select(e => e.Key));
            revision = store.Revision;
            Assert.Equal(revision + 1, await store.PutAsync("/d", B("d")));
        }

        await using (var store = Open())
        {
            Assert.Equal(["/a", "/b", "/d"], (await AllAsync(store)).Select(e => e.Key));
            Assert.Equal(revision + 1, store.Revision);
        }
    }

    [Fact]
    public async Task Garbage_tail_and_bad_checksum_are_ignored()
    {
        await using (var store = Open())
        {
            await store.PutAsync("/a", B("a"));
            await store.PutAsync("/b", B("b"));
        }

        // Flip a byte inside the last record's payload: its CRC no longer matches.
        byte[] bytes = File.ReadAllBytes(LogPath);
        bytes[^3] ^= 0x5A;
        // Then garbage after it, including a header that claims more bytes than exist.
        var garbage = new byte[] { 0x40, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9 };
        File.WriteAllBytes(LogPath, [.. bytes, .. garbage]);

        await using (var store = Open())
        {
            Assert.Equal(["/a"], (await AllAsync(store)).Select(e => e.Key));
            await store.PutAsync("/c", B("c"));
        }

        await using (var store = Open())
        {
            Assert.Equal(["/a", "/c"], (await AllAsync(store)).Select(e => e.Key));
        }
    }

    [Fact]
    public async Task Log_records_already_in_the_snapshot_are_not_applied_twice()
    {
        byte[] oldLog;
        await using (var store = Open())
        {
            await store.PutAsync("/a", B("1"));
            await store.PutAsync("/a", B("2"));
        }

        oldLog = File.ReadAllBytes(LogPath);
        await using (var store = Open())
        {
            store.Snapshot();
            await store.PutAsync("/a", B("3"));
        }

        // Crash after the snapshot rename but before the log was emptied: old records + the new one.
        byte[] newLog = File.ReadAllBytes(LogPath);
        File.WriteAllBytes(LogPath, [.. oldLog, .. newLog]);

        await using var reopened = Open();
        var a = await reopened.GetAsync("/a");
        Assert.Equal("3", S(a!.Value));
        Assert.Equal(3, a.Version);
    }

    [Fact]
    public async Task Automatic_snapshots_bound_the_log_and_lose_nothing()
    {
        var options = new EmbeddedStoreOptions { SnapshotThresholdBytes = 2048 };
        await using (var store = Open(options))
        {
            for (int i = 0; i < 200; i++)
            {
                await store.PutAsync($"/many/{i % 50}", B(new string('x', 40) + i));
                Assert.True(new FileInfo(LogPath).Length <= 2048 + 512);
            }
        }

        await using (var store = Open(options))
        {
            var all = await AllAsync(store);
            Assert.Equal(50, all.Count);
            Assert.All(all, e => Assert.Equal(4, e.Version));
        }
    }

    [Fact]
    public async Task A_second_open_of_the_same_directory_is_refused()
    {
        await using var store = Open();
        Assert.ThrowsAny<IOException>(() => Open());
        await store.PutAsync("/still", B("works"));
    }

    [Fact]
    public async Task Watch_history_is_bounded_and_older_starts_are_compacted()
    {
        await using var store = EmbeddedMetadataStore.Open(null, _time, new EmbeddedStoreOptions { HistoryLimit = 5 });
        long first = await store.PutAsync("/h", B("0"));
        for (int i = 1; i < 10; i++)
        {
            await store.PutAsync("/h", B(i.ToString()));
        }

        var e = await Assert.ThrowsAsync<MetadataCompactedException>(async () =>
        {
            await foreach (var _ in store.WatchAsync("/h", first))
            {
            }
        });
        Assert.Equal(first + 4, e.CompactedThrough);
        await using var events = store.WatchAsync("/h", first + 5).GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("5", S(events.Current.Value));
    }

    [Fact]
    public async Task Keep_alive_loop_renews_on_real_time_and_reports_a_revoked_lease()
    {
        await using var store = EmbeddedMetadataStore.Open(null);
        // Generous TTL: the machine is shared (2 cores, the rest of the suite in parallel), and a thread
        // pool stalled for a couple of seconds must not look like a lapse; renewal every TTL/3 then
        // survives a stall of up to 2/3 TTL. (A 3 s TTL lapsed once in a few dozen suite runs.)
        long lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(6));
        await store.PutAsync("/ka", B("alive"), lease);
        using var stop = new CancellationTokenSource();
        var loop = store.KeepAliveAsync(lease, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(7.5));
        Assert.NotNull(await store.GetAsync("/ka"));
        Assert.False(loop.IsCompleted);

        await store.RevokeLeaseAsync(lease);
        await Assert.ThrowsAsync<MetadataLeaseLostException>(() => loop.WaitAsync(TimeSpan.FromSeconds(10)));

        long other = await store.GrantLeaseAsync(TimeSpan.FromSeconds(5));
        var cancelled = store.KeepAliveAsync(other, stop.Token);
        stop.Cancel();
        await cancelled.WaitAsync(TimeSpan.FromSeconds(10)); // cancellation ends the loop quietly
    }

    [Fact]
    public async Task Disposing_the_store_ends_watches_with_an_error_and_refuses_calls()
    {
        var store = Open();
        await using var events = store.WatchAsync("/", 0).GetAsyncEnumerator();
        var next = events.MoveNextAsync().AsTask();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => next);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync("/x"));
    }
}
