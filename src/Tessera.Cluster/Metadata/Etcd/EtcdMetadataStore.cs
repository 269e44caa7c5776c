using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Mvccpb;

namespace Tessera.Cluster.Metadata.Etcd;

/// <summary>
/// <see cref="IMetadataStore"/> over etcd v3, one call per operation, using the gRPC clients
/// generated in the dotnet-etcd package (KV, Watch, Lease services). etcd supplies
/// linearizability, revisions and lease expiry; this class only translates, bounds every unary
/// call with a deadline, and keeps watches and keep-alives going across reconnects.
/// </summary>
internal sealed class EtcdMetadataStore : IMetadataStore
{
    private readonly GrpcChannel _channel;
    private readonly KV.KVClient _kv;
    private readonly Watch.WatchClient _watch;
    private readonly Lease.LeaseClient _lease;
    private readonly EtcdStoreOptions _options;
    private readonly CancellationTokenSource _disposing = new();

    private EtcdMetadataStore(string endpoint, EtcdStoreOptions options)
    {
        _options = options;
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            Credentials = endpoint.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
        });
        _kv = new KV.KVClient(_channel);
        _watch = new Watch.WatchClient(_channel);
        _lease = new Lease.LeaseClient(_channel);
    }

    /// <summary>Connects lazily to one etcd client URL, e.g. http://127.0.0.1:2379.</summary>
    public static EtcdMetadataStore Connect(string endpoint, EtcdStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        return new EtcdMetadataStore(endpoint, options ?? new EtcdStoreOptions());
    }

    public async Task<KeyValueEntry?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var response = await Call(ct => _kv.RangeAsync(new RangeRequest { Key = Bytes(key) }, deadline: Deadline(), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return response.Kvs.Count == 0 ? null : ToEntry(response.Kvs[0]);
    }

    public async Task<RangeResult> GetRangeAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var response = await Call(ct => _kv.RangeAsync(RangeOf(prefix), deadline: Deadline(), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return new RangeResult(response.Kvs.Select(ToEntry).ToList(), response.Header.Revision);
    }

    public async Task<long> PutAsync(string key, ReadOnlyMemory<byte> value, long leaseId = 0, CancellationToken cancellationToken = default)
    {
        var response = await Call(ct => _kv.PutAsync(PutOf(key, value, leaseId), deadline: Deadline(), cancellationToken: ct), cancellationToken, leaseId).ConfigureAwait(false);
        return response.Header.Revision;
    }

    public async Task<DeleteResult> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var response = await Call(ct => _kv.DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes(key) }, deadline: Deadline(), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        return new DeleteResult(response.Deleted > 0, response.Header.Revision);
    }

    public async Task<TxnResult> TxnAsync(IReadOnlyList<Compare> compares, IReadOnlyList<TxnOp> onSuccess, IReadOnlyList<TxnOp> onFailure, CancellationToken cancellationToken = default)
    {
        var request = new TxnRequest();
        request.Compare.AddRange(compares.Select(ToCompare));
        request.Success.AddRange(onSuccess.Select(ToRequestOp));
        request.Failure.AddRange(onFailure.Select(ToRequestOp));
        long lease = onSuccess.Concat(onFailure).Select(o => o.Lease).FirstOrDefault(l => l != 0);
        var response = await Call(ct => _kv.TxnAsync(request, deadline: Deadline(), cancellationToken: ct), cancellationToken, lease).ConfigureAwait(false);
        var results = new List<IReadOnlyList<KeyValueEntry>>(response.Responses.Count);
        foreach (var r in response.Responses)
        {
            results.Add(r.ResponseCase switch
            {
                ResponseOp.ResponseOneofCase.ResponseRange => r.ResponseRange.Kvs.Select(ToEntry).ToList(),
                ResponseOp.ResponseOneofCase.ResponseDeleteRange => r.ResponseDeleteRange.PrevKvs.Select(ToEntry).ToList(),
                _ => [],
            });
        }

        return new TxnResult(response.Succeeded, response.Header.Revision, results);
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // C# cannot yield inside try/catch, so a pump owns the gRPC stream and its reconnects.
        var events = Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(_options.WatchBuffer) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        var pump = Task.Run(() => PumpWatchAsync(prefix, fromRevision, events.Writer, stop.Token), CancellationToken.None);
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return e;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }

    public async Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        if (ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "lease TTL must be positive");
        }

        // etcd leases have whole-second TTLs (and a server minimum); round up, never down.
        long seconds = Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds));
        var response = await Call(ct => _lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = seconds }, deadline: Deadline(), cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error))
        {
            throw new MetadataStoreException($"etcd lease grant failed: {response.Error}");
        }

        return response.ID;
    }

    public async Task<TimeSpan?> RefreshLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var call = _lease.LeaseKeepAlive(cancellationToken: timeout.Token);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, timeout.Token).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new MetadataStoreException("etcd closed the keep-alive stream without answering");
            }

            long ttl = call.ResponseStream.Current.TTL;
            return ttl <= 0 ? null : TimeSpan.FromSeconds(ttl);
        }
        catch (Exception e) when (e is RpcException or HttpRequestException or IOException or NotSupportedException or InvalidOperationException or OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Includes our own request timeout: no answer in time is a failed renewal.
            throw new MetadataStoreException($"etcd keep-alive failed: {e.Message}", e);
        }
    }

    public async Task KeepAliveAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        var token = stop.Token;
        // Until a refresh succeeds we know nothing better than "alive for one TTL from now".
        var ttl = TimeSpan.FromSeconds(1);
        var lastConfirmed = DateTime.UtcNow;
        bool first = true;
        try
        {
            while (true)
            {
                try
                {
                    var remaining = await RefreshLeaseAsync(leaseId, token).ConfigureAwait(false) ?? throw new MetadataLeaseLostException(leaseId);
                    ttl = remaining;
                    lastConfirmed = DateTime.UtcNow;
                    first = false;
                }
                catch (MetadataStoreException e) when (e is not MetadataLeaseLostException)
                {
                    // etcd unreachable: keep trying, but once a full TTL passed without a renewal the
                    // lease may have lapsed on the server — report it lost (conservative for fencing).
                    if (!first && DateTime.UtcNow - lastConfirmed >= ttl)
                    {
                        throw new MetadataLeaseLostException(leaseId);
                    }

                    first = false;
                    await Task.Delay(_options.ReconnectDelay, token).ConfigureAwait(false);
                    continue;
                }

                await Task.Delay(ttl / 3, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    public async Task RevokeLeaseAsync(long leaseId, CancellationToken cancellationToken = default)
    {
        try
        {
            await Call(ct => _lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, deadline: Deadline(), cancellationToken: ct), cancellationToken, leaseId).ConfigureAwait(false);
        }
        catch (MetadataLeaseLostException)
        {
            // Already gone: revoking is idempotent.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        _channel.Dispose();
        _disposing.Dispose();
    }

    private async Task PumpWatchAsync(string prefix, long fromRevision, ChannelWriter<WatchEvent> writer, CancellationToken token)
    {
        long next = fromRevision; // 0 until the first stream is created: "from now"
        Exception? failure = null;
        try
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    using var call = _watch.Watch(cancellationToken: token);
                    var create = new WatchCreateRequest { StartRevision = Math.Max(next, 0), ProgressNotify = true };
                    var range = RangeOf(prefix);
                    create.Key = range.Key;
                    create.RangeEnd = range.RangeEnd;
                    await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, token).ConfigureAwait(false);
                    while (await call.ResponseStream.MoveNext(token).ConfigureAwait(false))
                    {
                        var response = call.ResponseStream.Current;
                        if (response.CompactRevision != 0)
                        {
                            throw new MetadataCompactedException(next, response.CompactRevision);
                        }

                        if (response.Canceled)
                        {
                            throw new MetadataStoreException($"etcd cancelled the watch: {response.CancelReason}");
                        }

                        if (response.Created && next <= 0)
                        {
                            next = response.Header.Revision + 1;
                        }

                        foreach (var e in response.Events)
                        {
                            await writer.WriteAsync(ToEvent(e), token).ConfigureAwait(false);
                        }

                        // A response carries every event of a revision (no fragmenting requested), so
                        // resuming after the last one neither skips nor repeats.
                        if (response.Events.Count > 0)
                        {
                            next = response.Events[^1].Kv.ModRevision + 1;
                        }
                        else if (!response.Created && response.Header.Revision >= next)
                        {
                            // Progress notification: everything up to the header revision was sent,
                            // so a resume after a long idle period does not start below compaction.
                            next = response.Header.Revision + 1;
                        }
                    }
                }
                catch (Exception e) when (e is not MetadataStoreException && !token.IsCancellationRequested)
                {
                    // Connection lost or etcd restarting (RpcException, or a transport exception from
                    // the HTTP/2 stack): resume from `next` after a pause.
                }

                await Task.Delay(_options.ReconnectDelay, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (RpcException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }

        writer.TryComplete(failure);
    }

    private async Task<T> Call<T>(Func<CancellationToken, AsyncUnaryCall<T>> call, CancellationToken cancellationToken, long leaseId = 0)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        try
        {
            return await call(linked.Token).ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && e.Status.Detail.Contains("lease not found", StringComparison.Ordinal))
        {
            throw new MetadataLeaseLostException(leaseId);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            throw new ArgumentException($"etcd refused the request: {e.Status.Detail}", e);
        }
        catch (RpcException e)
        {
            throw new MetadataStoreException($"etcd call failed: {e.StatusCode} {e.Status.Detail}", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or NotSupportedException or InvalidOperationException)
        {
            // Transport failures below gRPC (connection torn down mid-call) are store failures too.
            throw new MetadataStoreException($"etcd call failed: {e.Message}", e);
        }
    }

    private DateTime Deadline() => DateTime.UtcNow + _options.RequestTimeout;

    private static ByteString Bytes(string key) => ByteString.CopyFromUtf8(key);

    private static RangeRequest RangeOf(string prefix)
    {
        if (prefix.Length == 0)
        {
            // etcd: key "\0" with range_end "\0" means every key.
            return new RangeRequest { Key = ByteString.CopyFrom(0), RangeEnd = ByteString.CopyFrom(0) };
        }

        return new RangeRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix) };
    }

    /// <summary>The smallest key greater than every key with this prefix (etcd clientv3 GetPrefixRangeEnd).</summary>
    private static ByteString PrefixEnd(string prefix)
    {
        byte[] end = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xFF)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0);
    }

    private static PutRequest PutOf(string key, ReadOnlyMemory<byte> value, long leaseId) =>
        new() { Key = Bytes(key), Value = ByteString.CopyFrom(value.Span), Lease = leaseId };

    private static RequestOp ToRequestOp(TxnOp op) => op.Kind switch
    {
        TxnOpKind.Put => new RequestOp { RequestPut = PutOf(op.Key, op.Value, op.Lease) },
        TxnOpKind.Delete => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(op.Key), PrevKv = true } },
        TxnOpKind.DeletePrefix => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = RangeOf(op.Key).Key, RangeEnd = RangeOf(op.Key).RangeEnd, PrevKv = true } },
        TxnOpKind.Get => new RequestOp { RequestRange = new RangeRequest { Key = Bytes(op.Key) } },
        TxnOpKind.GetPrefix => new RequestOp { RequestRange = RangeOf(op.Key) },
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static Etcdserverpb.Compare ToCompare(Compare c)
    {
        var result = new Etcdserverpb.Compare
        {
            Key = Bytes(c.Key),
            Result = c.Op switch
            {
                CompareOp.Equal => Etcdserverpb.Compare.Types.CompareResult.Equal,
                CompareOp.NotEqual => Etcdserverpb.Compare.Types.CompareResult.NotEqual,
                CompareOp.Less => Etcdserverpb.Compare.Types.CompareResult.Less,
                CompareOp.Greater => Etcdserverpb.Compare.Types.CompareResult.Greater,
                _ => throw new ArgumentOutOfRangeException(nameof(c)),
            },
        };
        switch (c.Target)
        {
            case CompareTarget.Version:
                result.Target = Etcdserverpb.Compare.Types.CompareTarget.Version;
                result.Version = c.Number;
                break;
            case CompareTarget.CreateRevision:
                result.Target = Etcdserverpb.Compare.Types.CompareTarget.Create;
                result.CreateRevision = c.Number;
                break;
            case CompareTarget.ModRevision:
                result.Target = Etcdserverpb.Compare.Types.CompareTarget.Mod;
                result.ModRevision = c.Number;
                break;
            case CompareTarget.Value:
                result.Target = Etcdserverpb.Compare.Types.CompareTarget.Value;
                result.Value = ByteString.CopyFrom(c.Value.Span);
                break;
        }

        return result;
    }

    private static KeyValueEntry ToEntry(KeyValue kv) =>
        new(kv.Key.ToStringUtf8(), kv.Value.Memory, kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    private static WatchEvent ToEvent(Event e) => e.Type == Event.Types.EventType.Put
        ? new WatchEvent(WatchEventType.Put, e.Kv.Key.ToStringUtf8(), e.Kv.Value.Memory, e.Kv.ModRevision, e.Kv.CreateRevision, e.Kv.Version, e.Kv.Lease)
        : new WatchEvent(WatchEventType.Delete, e.Kv.Key.ToStringUtf8(), default, e.Kv.ModRevision, 0, 0, 0);
}
