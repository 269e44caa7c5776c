namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// Keeps a live-node view current from <see cref="ClusterMembership.WatchAsync"/> and raises
/// <see cref="Joined"/>/<see cref="Left"/> on the tracker's loop (handlers must not block).
/// </summary>
internal sealed class MembershipTracker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, NodeRecord> _live = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ClusterMembership _membership;
    private Task _loop = Task.CompletedTask;

    public MembershipTracker(ClusterMembership membership) => _membership = membership;

    public event Action<MembershipChange>? Joined;

    public event Action<MembershipChange>? Left;

    /// <summary>Snapshot of the live nodes, in id order.</summary>
    public IReadOnlyList<NodeRecord> LiveNodes
    {
        get
        {
            lock (_live)
            {
                return _live.Values.OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>Completes with the loop's failure (a stopped tracker completes normally).</summary>
    public Task Completion => _loop;

    /// <summary>Starts tracking; returns once the initial list has been loaded.</summary>
    public Task StartAsync()
    {
        _loop = Task.Run(RunAsync);
        return Task.WhenAny(_synced.Task, _loop).Unwrap();
    }

    public async ValueTask DisposeAsync()
    {
        await BackgroundLoops.StopAsync(_stop, _loop).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var change in _membership.WatchAsync(() => _synced.TrySetResult(), _stop.Token).ConfigureAwait(false))
            {
                lock (_live)
                {
                    if (change.Kind == MembershipChangeKind.Joined)
                    {
                        _live[change.NodeId] = change.Node;
                    }
                    else
                    {
                        _live.Remove(change.NodeId);
                    }
                }

                (change.Kind == MembershipChangeKind.Joined ? Joined : Left)?.Invoke(change);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }
}
