using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// <see cref="INodeLiveness"/> from cluster membership by lease (<see cref="ClusterMembership"/>'s
/// watch): a node is up while its key /tessera/nodes/&lt;id&gt; exists. Node ids map to
/// <see cref="NodeId"/> values by position in <see cref="Nodes"/> — a volume's placement
/// (<c>VolumeRecord.Placement</c>), so NodeId(i) is the node holding column index i of the
/// layout and rank i in the token order; volumes with the same placement share one instance.
/// Reads are lock-free (one int per node).
/// <para>
/// A node that fails and later registers again comes back with stale chunks (writes meanwhile
/// were degraded), so it is not up when it returns: <see cref="NodeReturned"/> is raised and the
/// composition rebuilds it (<see cref="BeginRebuild"/> … <see cref="EndRebuild"/>, which raises
/// <see cref="NodeRejoined"/>) — as <see cref="InProcessCluster.RebuildAsync"/> does in process.
/// A node seen for the first time (in the first listing, or joining later) is up at once: the
/// composition must not serve I/O before every placement node has been seen, or must rebuild late
/// joiners, because this class cannot know what was written while a node it never saw was away.
/// </para>
/// </summary>
internal sealed class MembershipLiveness : INodeLiveness, IAsyncDisposable
{
    private const int Unknown = 0, Up = 1, Down = 2, Returned = 3, Rebuilding = 4;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly ClusterMembership _membership;
    private readonly int[] _state;
    private readonly long[] _incarnation;
    private readonly Func<Guid, long, bool>?[] _rebuilt;
    private readonly Dictionary<string, int> _indexOf;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _listed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    private MembershipLiveness(IMetadataStore store, IReadOnlyList<string> nodes)
    {
        _membership = new ClusterMembership(store);
        Nodes = [.. nodes];
        _state = new int[nodes.Count];
        _incarnation = new long[nodes.Count];
        _rebuilt = new Func<Guid, long, bool>?[nodes.Count];
        _indexOf = Nodes.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>Node ids in NodeId order.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>Raised (on the watch loop; must not block) when a node's key disappears: lease lapsed, revoked, or fenced.</summary>
    public event Action<NodeId>? NodeFailed;

    /// <summary>A node that had failed registered again; it stays not-up until rebuilt.</summary>
    public event Action<NodeId>? NodeReturned;

    /// <summary>A returned node finished its rebuild and is up (<see cref="EndRebuild"/>): tell the ordering nodes.</summary>
    public event Action<NodeId>? NodeRejoined;

    /// <summary>A node seen for the first time is up.</summary>
    public event Action<NodeId>? NodeJoined;

    /// <summary>Completes with the watch loop's failure; a disposed instance completes normally.</summary>
    public Task Completion => _loop;

    /// <summary>Starts following membership; returns once the live nodes have been listed.</summary>
    public static async Task<MembershipLiveness> StartAsync(IMetadataStore store, IReadOnlyList<string> nodes, CancellationToken cancellationToken = default)
    {
        var liveness = new MembershipLiveness(store, nodes);
        liveness._loop = Task.Run(liveness.RunAsync, CancellationToken.None);
        await (await Task.WhenAny(liveness._listed.Task, liveness._loop).ConfigureAwait(false)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return liveness;
    }

    /// <summary>NodeId of <paramref name="nodeId"/>, or null when it is not one of <see cref="Nodes"/>.</summary>
    public NodeId? IndexOf(string nodeId) => _indexOf.TryGetValue(nodeId, out int i) ? new NodeId(i) : null;

    public string IdOf(NodeId node) => Nodes[node.Value];

    public bool IsUp(NodeId node) => State(node) == Up;

    public bool AcceptsChunkIo(NodeId node) => State(node) is Up or Rebuilding;

    public bool IsColumnAvailable(Guid volume, NodeId node, long stripe) => State(node) switch
    {
        Up => true,
        Rebuilding => Volatile.Read(ref _rebuilt[node.Value]) is { } rebuilt && rebuilt(volume, stripe),
        _ => false,
    };

    /// <summary>Create revision of the node's key (its incarnation) while it is live, else 0.</summary>
    public long Incarnation(NodeId node) => (uint)node.Value < (uint)_incarnation.Length ? Volatile.Read(ref _incarnation[node.Value]) : 0;

    /// <summary>
    /// A returned node starts being rebuilt: it takes chunk I/O, and its column of a stripe counts as
    /// available once <paramref name="columnRebuilt"/>(volume, stripe) says so.
    /// </summary>
    public void BeginRebuild(NodeId node, Func<Guid, long, bool> columnRebuilt)
    {
        ArgumentNullException.ThrowIfNull(columnRebuilt);
        Volatile.Write(ref _rebuilt[node.Value], columnRebuilt);
        if (Interlocked.CompareExchange(ref _state[node.Value], Rebuilding, Returned) != Returned)
        {
            throw new InvalidOperationException($"node {IdOf(node)} has not returned (state {StateName(node)})");
        }
    }

    /// <summary>The rebuild finished: the node is up; raises <see cref="NodeRejoined"/>.</summary>
    public void EndRebuild(NodeId node)
    {
        if (Interlocked.CompareExchange(ref _state[node.Value], Up, Rebuilding) != Rebuilding)
        {
            throw new InvalidOperationException($"node {IdOf(node)} is not being rebuilt (state {StateName(node)})");
        }

        Volatile.Write(ref _rebuilt[node.Value], null);
        NodeRejoined?.Invoke(node);
    }

    /// <summary>"up", "down", "returned", "rebuilding" or "unknown" (never seen).</summary>
    public string StateName(NodeId node) => State(node) switch
    {
        Up => "up",
        Down => "down",
        Returned => "returned",
        Rebuilding => "rebuilding",
        _ => "unknown",
    };

    public async ValueTask DisposeAsync()
    {
        await BackgroundLoops.StopAsync(_stop, _loop).ConfigureAwait(false);
    }

    private int State(NodeId node) => (uint)node.Value < (uint)_state.Length ? Volatile.Read(ref _state[node.Value]) : Unknown;

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            // Each (re)start lists the live nodes as Joined changes; a node we had up that is not in
            // that listing left while the watch was down.
            var listedNow = new HashSet<int>();
            bool listing = true;
            try
            {
                await foreach (var change in _membership.WatchAsync(() => EndListing(listedNow, ref listing), token).ConfigureAwait(false))
                {
                    if (!_indexOf.TryGetValue(change.NodeId, out int i))
                    {
                        continue;
                    }

                    if (change.Kind == MembershipChangeKind.Joined)
                    {
                        if (listing)
                        {
                            listedNow.Add(i);
                        }

                        Join(i, change.Incarnation);
                    }
                    else
                    {
                        Fail(i);
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (MetadataStoreException) when (!token.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
            }
        }
    }

    private void EndListing(HashSet<int> listedNow, ref bool listing)
    {
        listing = false;
        for (int i = 0; i < _state.Length; i++)
        {
            if (!listedNow.Contains(i) && Volatile.Read(ref _state[i]) is Up or Returned or Rebuilding)
            {
                Fail(i);
            }
        }

        _listed.TrySetResult();
    }

    private void Join(int i, long incarnation)
    {
        long previous = Volatile.Read(ref _incarnation[i]);
        Volatile.Write(ref _incarnation[i], incarnation);
        int state = Volatile.Read(ref _state[i]);
        if (state == Unknown)
        {
            Volatile.Write(ref _state[i], Up);
            NodeJoined?.Invoke(new NodeId(i));
        }
        else if (state == Down || (previous != 0 && previous != incarnation && state == Up))
        {
            // Back after a failure (or a new incarnation we never saw leave): its chunks missed writes.
            Volatile.Write(ref _state[i], Returned);
            if (state == Up)
            {
                NodeFailed?.Invoke(new NodeId(i));
            }

            NodeReturned?.Invoke(new NodeId(i));
        }
    }

    private void Fail(int i)
    {
        Volatile.Write(ref _incarnation[i], 0);
        int state = Volatile.Read(ref _state[i]);
        if (state is Down or Unknown)
        {
            return;
        }

        Volatile.Write(ref _state[i], Down);
        Volatile.Write(ref _rebuilt[i], null);
        NodeFailed?.Invoke(new NodeId(i));
    }
}
