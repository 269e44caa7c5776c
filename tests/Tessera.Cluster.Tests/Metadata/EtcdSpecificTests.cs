using System.Text;
using Etcdserverpb;
using Grpc.Net.Client;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Etcd;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;

namespace Tessera.Cluster.Tests.Metadata;

/// <summary>What only a real etcd can show: watches across a crash-restart, compaction, keep-alive on real time.</summary>
public sealed class EtcdSpecificTests(EtcdServer etcd) : IClassFixture<EtcdServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(ReadOnlyMemory<byte> b) => Encoding.UTF8.GetString(b.Span);

    [Fact]
    public async Task Watch_resumes_after_etcd_is_killed_and_restarted_without_gaps_or_repeats()
    {
        await using var store = EtcdMetadataStore.Connect(etcd.Endpoint, new EtcdStoreOptions { ReconnectDelay = TimeSpan.FromMilliseconds(50) });
        long r1 = await store.PutAsync("/rw/a", B("before"));
        await using var events = store.WatchAsync("/rw/", r1).GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(("/rw/a", r1), (events.Current.Key, events.Current.Revision));

        var next = events.MoveNextAsync().AsTask();
        await etcd.RestartAsync(); // kill -9, same data directory and ports
        long r2 = await RetryAsync(() => store.PutAsync("/rw/b", B("after")));
        Assert.True(await next.WaitAsync(Wait));
        Assert.Equal(("/rw/b", r2, "after"), (events.Current.Key, events.Current.Revision, S(events.Current.Value)));
        long r3 = (await store.DeleteAsync("/rw/a")).Revision;
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Wait));
        Assert.Equal((WatchEventType.Delete, r3), (events.Current.Type, events.Current.Revision));
    }

    /// <summary>A unary call right after a restart may hit the dead connection once; callers retry.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (MetadataStoreException) when (attempt < 20)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task Watch_from_a_compacted_revision_fails_with_compacted()
    {
        await using var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        long r1 = await store.PutAsync("/cp/a", B("1"));
        long r2 = await store.PutAsync("/cp/a", B("2"));
        using (var channel = GrpcChannel.ForAddress(etcd.Endpoint))
        {
            await new KV.KVClient(channel).CompactAsync(new CompactionRequest { Revision = r2, Physical = true });
        }

        var e = await Assert.ThrowsAsync<MetadataCompactedException>(async () =>
        {
            await foreach (var _ in store.WatchAsync("/cp/", r1).WithCancellation(new CancellationTokenSource(Wait).Token))
            {
            }
        });
        Assert.Equal(r2, e.CompactedThrough);
    }

    [Fact]
    public async Task Keep_alive_loop_holds_a_short_lease_on_real_time_and_reports_revocation()
    {
        await using var store = EtcdMetadataStore.Connect(etcd.Endpoint);
        // Generous TTL: the machine is shared, and a stalled thread pool must not look like a lapse.
        long lease = await store.GrantLeaseAsync(TimeSpan.FromSeconds(3));
        await store.PutAsync("/ka/x", B("x"), lease);
        using var stop = new CancellationTokenSource();
        var loop = store.KeepAliveAsync(lease, stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.NotNull(await store.GetAsync("/ka/x"));
        Assert.False(loop.IsCompleted);

        await store.RevokeLeaseAsync(lease);
        await Assert.ThrowsAsync<MetadataLeaseLostException>(() => loop.WaitAsync(Wait));
        Assert.Null(await store.GetAsync("/ka/x"));
    }

    [Fact]
    public async Task Separate_clients_behave_like_separate_node_processes_through_a_crash_and_take_over()
    {
        // Each node has its own connection, as `tessera node --etcd` processes do.
        var clientA = EtcdMetadataStore.Connect(etcd.Endpoint);
        await using var clientB = EtcdMetadataStore.Connect(etcd.Endpoint);
        await clientB.TxnAsync([], [TxnOp.DeletePrefix(MetadataKeys.Root)], []);
        var a = await new ClusterMembership(clientA).RegisterAsync(new NodeRecord("pa", "127.0.0.1:3260", "127.0.0.1:7000"), TimeSpan.FromSeconds(1));
        await using var b = await new ClusterMembership(clientB).RegisterAsync(new NodeRecord("pb", "127.0.0.1:3261", "127.0.0.1:7001"), TimeSpan.FromSeconds(30));
        var su = new SubunitId("multi", 0);
        var tokenA = (await new EpochFencing(clientA, a).TryAcquireAsync(su, 0)).Token!;

        await using var fencer = new DeadNodeFencer(clientB, b);
        var fenced = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        fencer.Fenced += (node, _, revoked) =>
        {
            if (node == "pa")
            {
                fenced.TrySetResult(revoked);
            }
        };
        await fencer.StartAsync();

        // Process A dies: its connection goes away without revoking anything.
        await a.AbandonAsync();
        await clientA.DisposeAsync();
        Assert.Equal(1, await fenced.Task.WaitAsync(Wait));

        var fenceB = new EpochFencing(clientB, b);
        var takeover = await fenceB.TryAcquireAsync(su, 2);
        Assert.True(takeover.Acquired);
        Assert.Equal(3, takeover.Token!.Epoch);

        // A's stale token is refused even from a fresh connection (a restarted process replaying old work).
        await using var clientA2 = EtcdMetadataStore.Connect(etcd.Endpoint);
        Assert.False(await new EpochFencing(clientA2, new NodeRegistrationInfo("pa", a.CreateRevision)).TryCommitFencedAsync(tokenA, [TxnOp.Put("/tessera/context/multi/x", B("stale"))]));
        Assert.Null(await clientB.GetAsync("/tessera/context/multi/x"));
        await a.DisposeAsync();
    }
}
