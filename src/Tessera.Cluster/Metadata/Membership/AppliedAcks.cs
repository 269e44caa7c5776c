namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// The store side of "a context-changing command completes only after it is committed and
/// applied on every live node" (ARCHITECTURE key decision 2): each node publishes the highest
/// revision it has applied under /tessera/acks/&lt;node&gt; (bound to its lease, so a dead node's
/// ack disappears with it), and the committing node waits until every live node's ack reaches
/// the commit revision. Whoever does not confirm in time is returned so the caller can fence it
/// (<c>EpochFencing.RevokeNodeAsync</c>) before completing the command.
/// </summary>
internal sealed class AppliedAcks
{
    private readonly IMetadataStore _store;

    public AppliedAcks(IMetadataStore store) => _store = store;

    /// <summary>Records that <paramref name="self"/> has applied everything up to <paramref name="appliedRevision"/>.</summary>
    public Task<long> PublishAsync(NodeRegistration self, long appliedRevision, CancellationToken cancellationToken = default) =>
        _store.PutJsonAsync(MetadataKeys.Ack(self.NodeId), new AppliedAck(self.NodeId, appliedRevision), MetadataJsonContext.Default.AppliedAck, self.LeaseId, cancellationToken);

    /// <summary>The last published ack of every node that has one.</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadAsync(CancellationToken cancellationToken = default)
    {
        var range = await _store.GetRangeAsync(MetadataKeys.Acks, cancellationToken).ConfigureAwait(false);
        return Decode(range.Entries);
    }

    /// <summary>
    /// Waits until each of <paramref name="nodes"/> has acknowledged <paramref name="revision"/>, or
    /// <paramref name="timeout"/> passes. Returns the nodes that had not confirmed (empty = all did).
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitAppliedAsync(long revision, IEnumerable<string> nodes, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var pending = new HashSet<string>(nodes, StringComparer.Ordinal);
        var range = await _store.GetRangeAsync(MetadataKeys.Acks, cancellationToken).ConfigureAwait(false);
        foreach (var (node, applied) in Decode(range.Entries))
        {
            if (applied >= revision)
            {
                pending.Remove(node);
            }
        }

        if (pending.Count == 0)
        {
            return [];
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            // Watch from just after the read: no ack between the read and the watch is missed.
            await foreach (var e in _store.WatchAsync(MetadataKeys.Acks, range.Revision + 1, deadline.Token).ConfigureAwait(false))
            {
                if (e.Type == WatchEventType.Put &&
                    MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.AppliedAck) is { } ack &&
                    ack.AppliedRevision >= revision &&
                    pending.Remove(ack.Node) &&
                    pending.Count == 0)
                {
                    return [];
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: report who is missing.
        }

        return pending.Order(StringComparer.Ordinal).ToList();
    }

    private static Dictionary<string, long> Decode(IEnumerable<KeyValueEntry> entries) =>
        entries.Select(e => MetadataJson.Deserialize(e.Value, MetadataJsonContext.Default.AppliedAck))
            .ToDictionary(a => a.Node, a => a.AppliedRevision, StringComparer.Ordinal);
}
