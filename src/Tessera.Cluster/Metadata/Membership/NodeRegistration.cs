namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// A node's presence in the cluster: its key /tessera/nodes/&lt;id&gt; bound to a lease that a
/// background loop keeps alive. <see cref="CreateRevision"/> identifies this incarnation — the
/// ownership transactions compare it, so once the key is gone (lease lapsed, or the node was
/// fenced by <c>EpochFencing.RevokeNodeAsync</c>) this incarnation can take nothing any more.
/// <see cref="Lost"/> completes when that happens; the node must then stop serving and re-register.
/// Disposing leaves gracefully (revokes the lease).
/// </summary>
internal sealed class NodeRegistration : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Exception?> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _keepAlive;
    private readonly Task _selfWatch;
    private int _disposed;

    internal NodeRegistration(IMetadataStore store, NodeRecord node, long leaseId, long createRevision)
    {
        _store = store;
        Node = node;
        LeaseId = leaseId;
        CreateRevision = createRevision;
        _keepAlive = Task.Run(KeepAliveAsync);
        _selfWatch = Task.Run(WatchSelfAsync);
    }

    public NodeRecord Node { get; }

    public string NodeId => Node.Id;

    public long LeaseId { get; }

    /// <summary>Revision at which this incarnation's key was created.</summary>
    public long CreateRevision { get; }

    public string Key => MetadataKeys.Node(Node.Id);

    /// <summary>Completes (with the cause, or null) once this incarnation is out of the cluster.</summary>
    public Task<Exception?> Lost => _lost.Task;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_keepAlive, _selfWatch).ConfigureAwait(false);
        try
        {
            await _store.RevokeLeaseAsync(LeaseId).ConfigureAwait(false);
        }
        catch (MetadataStoreException)
        {
            // Store unreachable: the lease lapses on its own after its TTL.
        }
        catch (ObjectDisposedException)
        {
        }

        _lost.TrySetResult(null);
        _stop.Dispose();
    }

    /// <summary>
    /// Stops renewing and watching without revoking: what a crash looks like to the cluster (tests,
    /// and a node that knows it is fenced). The lease lapses after its TTL.
    /// </summary>
    internal async Task AbandonAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_keepAlive, _selfWatch).ConfigureAwait(false);
        _lost.TrySetResult(null);
    }

    private async Task KeepAliveAsync()
    {
        try
        {
            await _store.KeepAliveAsync(LeaseId, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Whatever stopped the renewals, this incarnation can no longer count on its lease.
            _lost.TrySetResult(e);
        }
    }

    private async Task WatchSelfAsync()
    {
        try
        {
            await foreach (var e in _store.WatchAsync(Key, CreateRevision + 1, _stop.Token).ConfigureAwait(false))
            {
                // Prefix watch: ignore longer keys that merely share the prefix.
                if (e.Key == Key && e.Type == WatchEventType.Delete)
                {
                    _lost.TrySetResult(new MetadataLeaseLostException(LeaseId));
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _lost.TrySetResult(e);
        }
    }
}
