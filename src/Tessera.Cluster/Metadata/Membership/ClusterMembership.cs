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
            throw new NodeIdTakenException(node.Id);
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
        var known = new Dictionary<string, (NodeRecord Node, long Incarnation)>(StringComparer.Ordinal);
        while (true)
        {
            var range = await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false);
            long revision = range.Revision;
            var live = range.Entries.ToDictionary(
                e => e.Key[MetadataKeys.Nodes.Length..],
                e => (Node: MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.NodeRecord), Incarnation: e.CreateRevision),
                StringComparer.Ordinal);
            // After a compaction gap: a different incarnation under a known id left and rejoined.
            foreach (var (id, old) in known.Where(k => !live.TryGetValue(k.Key, out var now) || now.Incarnation != k.Value.Incarnation).ToList())
            {
                known.Remove(id);
                yield return new MembershipChange(MembershipChangeKind.Left, id, old.Node, old.Incarnation, revision);
            }

            foreach (var (id, now) in live.Where(l => !known.ContainsKey(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                known[id] = now;
                yield return new MembershipChange(MembershipChangeKind.Joined, id, now.Node, now.Incarnation, revision);
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
                        if (known.TryAdd(id, (node, e.CreateRevision)))
                        {
                            yield return new MembershipChange(MembershipChangeKind.Joined, id, node, e.CreateRevision, e.Revision);
                        }
                        else
                        {
                            known[id] = (node, e.CreateRevision);
                        }
                    }
                    else if (known.Remove(id, out var old))
                    {
                        yield return new MembershipChange(MembershipChangeKind.Left, id, old.Node, old.Incarnation, e.Revision);
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
