using System.Runtime.CompilerServices;

namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// Cluster membership by lease (issue 5 item 1): a node is in the cluster exactly while its
/// lease-bound key /tessera/nodes/&lt;id&gt; exists. Joining is "create if absent", so two
/// processes cannot hold the same id; leaving is revoking the lease, or the lease lapsing.
/// </summary>
internal sealed class ClusterMembership
{
    private readonly IMetadataStore _store;

    public ClusterMembership(IMetadataStore store) => _store = store;

    /// <summary>
    /// Registers <paramref name="node"/> with a lease of <paramref name="ttl"/> kept alive in the
    /// background. Throws when a live node already holds the id.
    /// </summary>
    public async Task<NodeRegistration> RegisterAsync(NodeRecord node, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        string key = MetadataKeys.Node(node.Id);
        long lease = await _store.GrantLeaseAsync(ttl, cancellationToken).ConfigureAwait(false);
        TxnResult result;
        try
        {
            result = await _store.TxnAsync(
                [Compare.Absent(key)],
                [MetadataJson.PutJson(key, node, MetadataJsonContext.Default.NodeRecord, lease)],
                [TxnOp.Get(key)],
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _store.RevokeLeaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (!result.Succeeded)
        {
            await _store.RevokeLeaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
            throw new MetadataStoreException($"node id '{node.Id}' is already live in the cluster");
        }

        return new NodeRegistration(_store, node, lease, result.Revision);
    }

    /// <summary>Live nodes in id order, and the revision they were read at.</summary>
    public async Task<(IReadOnlyList<NodeRecord> Nodes, long Revision)> ListLiveAsync(CancellationToken cancellationToken = default)
    {
        var range = await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false);
        return (range.Entries.Select(e => MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.NodeRecord)).ToList(), range.Revision);
    }

    /// <summary>
    /// A Joined change for every node live now, then every join and leave as it happens, in
    /// revision order. Survives compaction by re-listing and reporting the difference.
    /// </summary>
    public IAsyncEnumerable<MembershipChange> WatchAsync(CancellationToken cancellationToken = default) => WatchAsync(null, cancellationToken);

    /// <summary>As <see cref="WatchAsync(CancellationToken)"/>; <paramref name="listed"/> runs once the initial listing has been consumed.</summary>
    public async IAsyncEnumerable<MembershipChange> WatchAsync(Action? listed, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var known = new Dictionary<string, NodeRecord>(StringComparer.Ordinal);
        while (true)
        {
            var (nodes, revision) = await ListLiveAsync(cancellationToken).ConfigureAwait(false);
            var live = nodes.ToDictionary(n => n.Id, StringComparer.Ordinal);
            foreach (var gone in known.Keys.Where(id => !live.ContainsKey(id)).ToList())
            {
                known.Remove(gone);
                yield return new MembershipChange(MembershipChangeKind.Left, gone, null, revision);
            }

            foreach (var n in nodes.Where(n => !known.ContainsKey(n.Id)))
            {
                known[n.Id] = n;
                yield return new MembershipChange(MembershipChangeKind.Joined, n.Id, n, revision);
            }

            listed?.Invoke();
            listed = null;
            var events = _store.WatchAsync(MetadataKeys.Nodes, revision + 1, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    WatchEvent e;
                    try
                    {
                        if (!await events.MoveNextAsync().ConfigureAwait(false))
                        {
                            yield break;
                        }

                        e = events.Current;
                    }
                    catch (MetadataCompactedException)
                    {
                        break; // re-list
                    }

                    string id = e.Key[MetadataKeys.Nodes.Length..];
                    if (e.Type == WatchEventType.Put)
                    {
                        var node = MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.NodeRecord);
                        if (known.TryAdd(id, node))
                        {
                            yield return new MembershipChange(MembershipChangeKind.Joined, id, node, e.Revision);
                        }
                        else
                        {
                            known[id] = node;
                        }
                    }
                    else if (known.Remove(id, out var old))
                    {
                        yield return new MembershipChange(MembershipChangeKind.Left, id, old, e.Revision);
                    }
                }
            }
            finally
            {
                await events.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
