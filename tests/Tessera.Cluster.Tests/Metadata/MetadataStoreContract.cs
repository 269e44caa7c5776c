using System.Text;
using Tessera.Cluster.Metadata;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>
/// The behaviour every <see cref="IMetadataStore"/> must show, run against the embedded store
/// and a real etcd. Each test gets a store whose keyspace is empty.
/// </summary>
public abstract partial class MetadataStoreContract : IAsyncLifetime
{
    private protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private IMetadataStore? _store;

    private protected IMetadataStore Store => _store ?? throw new InvalidOperationException("not initialised");

    /// <summary>Shortest lease TTL the implementation honours precisely enough for tests.</summary>
    private protected virtual TimeSpan ShortTtl => TimeSpan.FromSeconds(1);

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    /// <summary>A store with an empty keyspace (a new one, or a wiped shared one).</summary>
    private protected abstract Task<IMetadataStore> CreateStoreAsync();

    /// <summary>Lets <paramref name="time"/> pass for leases: the manual clock, or real time.</summary>
    private protected abstract Task PassTimeAsync(TimeSpan time);

    private protected static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private protected static string S(ReadOnlyMemory<byte> b) => Encoding.UTF8.GetString(b.Span);

    /// <summary>Collects <paramref name="count"/> events (or throws after <see cref="Wait"/>).</summary>
    private protected static async Task<List<WatchEvent>> TakeAsync(IAsyncEnumerator<WatchEvent> events, int count)
    {
        var result = new List<WatchEvent>();
        using var timeout = new CancellationTokenSource(Wait);
        while (result.Count < count)
        {
            var next = events.MoveNextAsync().AsTask();
            var done = await Task.WhenAny(next, Task.Delay(Timeout.Infinite, timeout.Token).ContinueWith(_ => false));
            if (done != next)
            {
                throw new TimeoutException($"only {result.Count} of {count} watch events arrived: {string.Join(", ", result.Select(e => $"{e.Type} {e.Key}@{e.Revision}"))}");
            }

            Assert.True(await next, "watch ended early");
            result.Add(events.Current);
        }

        return result;
    }

    [Fact]
    public async Task Put_then_get_returns_value_and_etcd_revisions()
    {
        long r1 = await Store.PutAsync("/k/a", B("one"));
        var e1 = await Store.GetAsync("/k/a");
        Assert.NotNull(e1);
        Assert.Equal("one", S(e1.Value));
        Assert.Equal(r1, e1.CreateRevision);
        Assert.Equal(r1, e1.ModRevision);
        Assert.Equal(1, e1.Version);
        Assert.Equal(0, e1.Lease);

        long r2 = await Store.PutAsync("/k/a", B("two"));
        var e2 = await Store.GetAsync("/k/a");
        Assert.Equal(r1 + 1, r2);
        Assert.Equal("two", S(e2!.Value));
        Assert.Equal(r1, e2.CreateRevision);
        Assert.Equal(r2, e2.ModRevision);
        Assert.Equal(2, e2.Version);
    }

    [Fact]
    public async Task Get_of_missing_key_is_null_and_empty_value_is_kept()
    {
        Assert.Null(await Store.GetAsync("/k/missing"));
        await Store.PutAsync("/k/empty", ReadOnlyMemory<byte>.Empty);
        var e = await Store.GetAsync("/k/empty");
        Assert.NotNull(e);
        Assert.Equal(0, e.Value.Length);
    }

    [Fact]
    public async Task Range_returns_only_the_prefix_in_key_order_with_read_revision()
    {
        await Store.PutAsync("/r/b", B("2"));
        await Store.PutAsync("/r/a", B("1"));
        await Store.PutAsync("/r/c/d", B("3"));
        await Store.PutAsync("/ra", B("sibling"));
        long last = await Store.PutAsync("/q", B("before"));

        var range = await Store.GetRangeAsync("/r/");
        Assert.Equal(["/r/a", "/r/b", "/r/c/d"], range.Entries.Select(e => e.Key));
        Assert.Equal(["1", "2", "3"], range.Entries.Select(e => S(e.Value)));
        Assert.Equal(last, range.Revision);
        Assert.Empty((await Store.GetRangeAsync("/nothing/")).Entries);
    }

    [Fact]
    public async Task Delete_removes_key_and_deleting_a_missing_key_changes_nothing()
    {
        await Store.PutAsync("/d/x", B("x"));
        var deleted = await Store.DeleteAsync("/d/x");
        Assert.True(deleted.Deleted);
        Assert.Null(await Store.GetAsync("/d/x"));

        var again = await Store.DeleteAsync("/d/x");
        Assert.False(again.Deleted);
        Assert.Equal(deleted.Revision, again.Revision);

        // Re-created key starts over: new create revision, version 1.
        long r = await Store.PutAsync("/d/x", B("y"));
        var e = await Store.GetAsync("/d/x");
        Assert.Equal(r, e!.CreateRevision);
        Assert.Equal(1, e.Version);
    }

    [Fact]
    public async Task Revisions_grow_by_one_per_write_or_transaction_and_not_on_reads_or_failures()
    {
        long r0 = (await Store.GetRangeAsync("/")).Revision;
        long r1 = await Store.PutAsync("/m/1", B("a"));
        Assert.Equal(r0 + 1, r1);

        var txn = await Store.TxnAsync([], [TxnOp.Put("/m/2", B("b")), TxnOp.Put("/m/3", B("c")), TxnOp.Delete("/m/1")], []);
        Assert.True(txn.Succeeded);
        Assert.Equal(r1 + 1, txn.Revision);
        var all = (await Store.GetRangeAsync("/m/")).Entries;
        Assert.All(all, e => Assert.Equal(txn.Revision, e.ModRevision));

        var failed = await Store.TxnAsync([Compare.Exists("/m/none")], [TxnOp.Put("/m/4", B("d"))], [TxnOp.Get("/m/2")]);
        Assert.False(failed.Succeeded);
        Assert.Equal(txn.Revision, failed.Revision);
        Assert.Equal(txn.Revision, (await Store.GetRangeAsync("/m/")).Revision);

        long previous = txn.Revision;
        for (int i = 0; i < 20; i++)
        {
            long r = await Store.PutAsync($"/m/loop{i % 3}", B(i.ToString()));
            Assert.Equal(previous + 1, r);
            previous = r;
        }
    }

    [Fact]
    public async Task Txn_compare_and_swap_by_value_version_and_mod_revision()
    {
        long r = await Store.PutAsync("/cas", B("v1"));

        var wrongValue = await Store.TxnAsync([Compare.ValueIs("/cas", CompareOp.Equal, B("nope"))], [TxnOp.Put("/cas", B("bad"))], [TxnOp.Get("/cas")]);
        Assert.False(wrongValue.Succeeded);
        Assert.Equal("v1", S(Assert.Single(wrongValue.Responses[0]).Value));

        var byValue = await Store.TxnAsync([Compare.ValueIs("/cas", CompareOp.Equal, B("v1"))], [TxnOp.Put("/cas", B("v2"))], []);
        Assert.True(byValue.Succeeded);

        var staleMod = await Store.TxnAsync([Compare.ModRevision("/cas", CompareOp.Equal, r)], [TxnOp.Put("/cas", B("bad"))], []);
        Assert.False(staleMod.Succeeded);
        var byMod = await Store.TxnAsync([Compare.ModRevision("/cas", CompareOp.Equal, byValue.Revision)], [TxnOp.Put("/cas", B("v3"))], []);
        Assert.True(byMod.Succeeded);

        var byVersion = await Store.TxnAsync([Compare.Version("/cas", CompareOp.Equal, 3)], [TxnOp.Put("/cas", B("v4"))], []);
        Assert.True(byVersion.Succeeded);
        var greater = await Store.TxnAsync([Compare.Version("/cas", CompareOp.Greater, 4)], [TxnOp.Put("/cas", B("bad"))], []);
        Assert.False(greater.Succeeded);
        var less = await Store.TxnAsync([Compare.ModRevision("/cas", CompareOp.Less, byVersion.Revision + 1), Compare.ValueIs("/cas", CompareOp.NotEqual, B("x"))], [TxnOp.Get("/cas")], []);
        Assert.True(less.Succeeded);
        Assert.Equal("v4", S(less.Responses[0][0].Value));
        Assert.Equal("v4", S((await Store.GetAsync("/cas"))!.Value));
    }

    [Fact]
    public async Task Txn_create_if_absent_and_existence_compares()
    {
        var first = await Store.TxnAsync([Compare.Absent("/once")], [TxnOp.Put("/once", B("a"))], [TxnOp.Get("/once")]);
        Assert.True(first.Succeeded);
        var second = await Store.TxnAsync([Compare.Absent("/once")], [TxnOp.Put("/once", B("b"))], [TxnOp.Get("/once")]);
        Assert.False(second.Succeeded);
        Assert.Equal("a", S(second.Responses[0][0].Value));

        Assert.True((await Store.TxnAsync([Compare.Exists("/once"), Compare.CreateRevision("/once", CompareOp.Equal, first.Revision)], [], [])).Succeeded);
        Assert.False((await Store.TxnAsync([Compare.Exists("/never")], [], [])).Succeeded);
        // A value compare on a missing key never holds (etcd semantics), whatever the operator.
        Assert.False((await Store.TxnAsync([Compare.ValueIs("/never", CompareOp.NotEqual, B("x"))], [], [])).Succeeded);
    }

    [Fact]
    public async Task Txn_reads_see_earlier_writes_of_the_same_branch_and_delete_prefix_returns_deleted()
    {
        await Store.PutAsync("/t/a", B("1"));
        await Store.PutAsync("/t/b", B("2"));
        await Store.PutAsync("/u", B("keep"));
        await Store.PutAsync("/t/ab", B("4"));
        var txn = await Store.TxnAsync([], [TxnOp.Put("/t/c", B("3")), TxnOp.GetPrefix("/t/"), TxnOp.DeletePrefix("/t/a")], []);
        Assert.True(txn.Succeeded);
        Assert.Equal(3, txn.Responses.Count);
        Assert.Equal(["/t/a", "/t/ab", "/t/b", "/t/c"], txn.Responses[1].Select(e => e.Key));
        Assert.Equal(["/t/a", "/t/ab"], txn.Responses[2].Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(["/t/b", "/t/c"], (await Store.GetRangeAsync("/t/")).Entries.Select(e => e.Key));
        Assert.NotNull(await Store.GetAsync("/u"));

        // etcd refuses a branch that writes a key twice or deletes a key it writes; nothing happens.
        long before = (await Store.GetRangeAsync("/")).Revision;
        await Assert.ThrowsAsync<ArgumentException>(() => Store.TxnAsync([], [TxnOp.Put("/t/d", B("x")), TxnOp.DeletePrefix("/t/")], []));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.TxnAsync([], [TxnOp.Put("/t/d", B("x")), TxnOp.Put("/t/d", B("y"))], []));
        Assert.Equal(before, (await Store.GetRangeAsync("/")).Revision);
        Assert.Null(await Store.GetAsync("/t/d"));
    }

    [Fact]
    public async Task Watch_delivers_puts_and_deletes_under_the_prefix_in_revision_order()
    {
        long start = (await Store.GetRangeAsync("/")).Revision + 1;
        await using var events = Store.WatchAsync("/w/", start).GetAsyncEnumerator();
        long r1 = await Store.PutAsync("/w/a", B("1"));
        await Store.PutAsync("/other", B("ignored"));
        long r2 = await Store.PutAsync("/w/b", B("2"));
        long r3 = (await Store.DeleteAsync("/w/a")).Revision;
        long r4 = (await Store.TxnAsync([], [TxnOp.Put("/w/c", B("3")), TxnOp.Put("/w/a", B("4"))], [])).Revision;

        var got = await TakeAsync(events, 5);
        Assert.Equal([r1, r2, r3, r4, r4], got.Select(e => e.Revision));
        Assert.Equal([WatchEventType.Put, WatchEventType.Put, WatchEventType.Delete, WatchEventType.Put, WatchEventType.Put], got.Select(e => e.Type));
        Assert.Equal(["/w/a", "/w/b", "/w/a"], got.Take(3).Select(e => e.Key));
        Assert.Equal(["/w/a", "/w/c"], got.Skip(3).Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal("2", S(got[1].Value));
        Assert.Equal(r4, got[4].CreateRevision);
        Assert.Equal(1, got[4].Version);
    }

    [Fact]
    public async Task Watch_from_a_past_revision_replays_history_then_follows_live_changes()
    {
        long r1 = await Store.PutAsync("/h/x", B("1"));
        long r2 = await Store.PutAsync("/h/x", B("2"));
        long r3 = await Store.PutAsync("/h/y", B("3"));

        await using var events = Store.WatchAsync("/h/", r2).GetAsyncEnumerator();
        var history = await TakeAsync(events, 2);
        Assert.Equal([r2, r3], history.Select(e => e.Revision));
        Assert.Equal(["2", "3"], history.Select(e => S(e.Value)));

        long r4 = (await Store.DeleteAsync("/h/x")).Revision;
        var live = Assert.Single(await TakeAsync(events, 1));
        Assert.Equal(WatchEventType.Delete, live.Type);
        Assert.Equal(r4, live.Revision);
        Assert.True(r1 < r2);
    }

    [Fact]
    public async Task Watch_from_a_future_revision_skips_everything_before_it()
    {
        long now = (await Store.GetRangeAsync("/")).Revision;
        await using var events = Store.WatchAsync("/f/", now + 3).GetAsyncEnumerator();
        var first = TakeAsync(events, 1);
        await Store.PutAsync("/f/a", B("1")); // now + 1
        await Store.PutAsync("/f/a", B("2")); // now + 2
        await Store.PutAsync("/f/a", B("3")); // now + 3
        var e = Assert.Single(await first);
        Assert.Equal((now + 3, "3"), (e.Revision, S(e.Value)));
    }

    [Fact]
    public async Task Lease_expiry_deletes_its_keys_and_emits_delete_events()
    {
        long lease = await Store.GrantLeaseAsync(ShortTtl);
        long r1 = await Store.PutAsync("/l/a", B("a"), lease);
        await Store.PutAsync("/l/b", B("b"), lease);
        await Store.PutAsync("/l/free", B("no lease"));
        Assert.Equal(lease, (await Store.GetAsync("/l/a"))!.Lease);

        await using var events = Store.WatchAsync("/l/", r1 + 3).GetAsyncEnumerator();
        var pending = TakeAsync(events, 2);
        await PassTimeAsync(ShortTtl * 3);
        var deletes = await pending;
        Assert.All(deletes, e => Assert.Equal(WatchEventType.Delete, e.Type));
        Assert.Equal(["/l/a", "/l/b"], deletes.Select(e => e.Key).Order(StringComparer.Ordinal));
        Assert.Equal(deletes[0].Revision, deletes[1].Revision); // one revision for the whole lease
        Assert.Null(await Store.GetAsync("/l/a"));
        Assert.Null(await Store.GetAsync("/l/b"));
        Assert.NotNull(await Store.GetAsync("/l/free"));
        Assert.Null(await Store.RefreshLeaseAsync(lease));
        await Assert.ThrowsAsync<MetadataLeaseLostException>(() => Store.PutAsync("/l/late", B("x"), lease));
    }

    [Fact]
    public async Task Lease_revoke_deletes_keys_at_once_and_is_idempotent()
    {
        long lease = await Store.GrantLeaseAsync(TimeSpan.FromSeconds(60));
        await Store.PutAsync("/lr/a", B("a"), lease);
        await Store.TxnAsync([], [TxnOp.Put("/lr/b", B("b"), lease)], []);
        await Store.RevokeLeaseAsync(lease);
        Assert.Empty((await Store.GetRangeAsync("/lr/")).Entries);
        await Store.RevokeLeaseAsync(lease);
        Assert.Null(await Store.RefreshLeaseAsync(lease));
    }

    [Fact]
    public async Task Lease_refresh_keeps_keys_alive_past_the_original_ttl()
    {
        var ttl = ShortTtl * 2;
        long lease = await Store.GrantLeaseAsync(ttl);
        await Store.PutAsync("/lk/a", B("a"), lease);
        for (int i = 0; i < 3; i++)
        {
            await PassTimeAsync(ttl * 0.5);
            var remaining = await Store.RefreshLeaseAsync(lease);
            Assert.NotNull(remaining);
            Assert.True(remaining >= ttl);
        }

        Assert.NotNull(await Store.GetAsync("/lk/a"));
    }

    [Fact]
    public async Task Put_with_unknown_lease_is_refused()
    {
        await Assert.ThrowsAsync<MetadataLeaseLostException>(() => Store.PutAsync("/x", B("x"), 0x7123_4567_89AB));
        Assert.Null(await Store.GetAsync("/x"));
    }

    [Fact]
    public async Task Concurrent_compare_and_swap_has_exactly_one_winner_per_round()
    {
        const int contenders = 8;
        const int rounds = 15;
        for (int round = 0; round < rounds; round++)
        {
            long expected = round; // the key's version before this round
            var attempts = Enumerable.Range(0, contenders).Select(c => Task.Run(() => Store.TxnAsync(
                [Compare.Version("/lin/counter", CompareOp.Equal, expected)],
                [TxnOp.Put("/lin/counter", B($"{round}:{c}"))],
                [TxnOp.Get("/lin/counter")]))).ToArray();
            var results = await Task.WhenAll(attempts);
            var winners = Enumerable.Range(0, contenders).Where(i => results[i].Succeeded).ToList();
            int winner = Assert.Single(winners);
            var value = await Store.GetAsync("/lin/counter");
            Assert.Equal($"{round}:{winner}", S(value!.Value));
            Assert.Equal(round + 1, value.Version);
            // Losers observed the winner's write (or a later state), never an older one.
            Assert.All(results.Where(r => !r.Succeeded), r => Assert.Equal(round + 1, r.Responses[0][0].Version));
        }
    }

    [Fact]
    public async Task Watch_sees_every_commit_of_concurrent_writers_once_in_revision_order()
    {
        const int writers = 4;
        const int perWriter = 40;
        long start = (await Store.GetRangeAsync("/")).Revision + 1;
        await using var events = Store.WatchAsync("/cw/", start).GetAsyncEnumerator();
        var pending = TakeAsync(events, writers * perWriter);
        var revisions = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (int i = 0; i < perWriter; i++)
            {
                mine.Add(await Store.PutAsync($"/cw/{w}", B(i.ToString())));
            }

            return mine;
        })));
        var seen = await pending;

        // Each writer's own revisions increase; together they are exactly the watched revisions.
        Assert.All(revisions, r => Assert.True(r.SequenceEqual(r.Order())));
        var committed = revisions.SelectMany(r => r).Order().ToList();
        Assert.Equal(committed, seen.Select(e => e.Revision));
        Assert.Equal(committed.Count, committed.Distinct().Count());
        for (int w = 0; w < writers; w++)
        {
            Assert.Equal(Enumerable.Range(0, perWriter).Select(i => i.ToString()), seen.Where(e => e.Key == $"/cw/{w}").Select(e => S(e.Value)));
        }
    }
}
