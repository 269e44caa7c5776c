namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>
/// Sub-unit ownership with epochs (ARCHITECTURE key decision 3, docs/metadata-store.md "Fencing").
/// Rules, all enforced inside store transactions:
/// <list type="number">
/// <item>Each change of a record bumps its epoch by one; take-over compares the previous epoch.</item>
/// <item>A sub-unit held by another node cannot be taken; that node must first be fenced with
///   <see cref="RevokeNodeAsync"/> (which marks its records Revoked at a new epoch) or release it.
///   So revoking a dead node's epoch always happens before anyone takes over its sub-units.</item>
/// <item>Only a live incarnation acquires: the take-over also compares the caller's own node key's
///   create revision, which a fenced or lapsed node no longer has.</item>
/// <item>An owner's writes are guarded by its token; a stale epoch's write is refused.</item>
/// </list>
/// </summary>
internal sealed class EpochFencing
{
    // etcd's default --max-txn-ops is 128; stay well below it.
    private const int RevokeBatch = 64;
    private readonly IMetadataStore _store;
    private readonly NodeRegistrationInfo _self;

    /// <param name="self">The local node's live registration (node id and incarnation).</param>
    public EpochFencing(IMetadataStore store, NodeRegistrationInfo self)
    {
        _store = store;
        _self = self;
    }

    /// <summary>The record, or null when the sub-unit was never owned.</summary>
    public async Task<OwnerRecord?> GetOwnerAsync(SubunitId subunit, CancellationToken cancellationToken = default)
    {
        var entry = await _store.GetAsync(subunit.Key, cancellationToken).ConfigureAwait(false);
        return entry is null ? null : Decode(entry);
    }

    /// <summary>Every owned sub-unit of <paramref name="volume"/>, in sub-unit order.</summary>
    public async Task<IReadOnlyList<(int Subunit, OwnerRecord Owner)>> ListOwnersAsync(string volume, CancellationToken cancellationToken = default)
    {
        var range = await _store.GetRangeAsync(MetadataKeys.OwnersOf(volume), cancellationToken).ConfigureAwait(false);
        string prefix = MetadataKeys.OwnersOf(volume);
        return range.Entries.Select(e => (int.Parse(e.Key.AsSpan(prefix.Length), System.Globalization.CultureInfo.InvariantCulture), Decode(e))).ToList();
    }

    /// <summary>
    /// Takes <paramref name="subunit"/> for the local node if its record is at
    /// <paramref name="expectedEpoch"/> (0 = never owned) and is vacant (released or revoked)
    /// or already ours. The new epoch is <paramref name="expectedEpoch"/> + 1.
    /// </summary>
    public async Task<AcquireResult> TryAcquireAsync(SubunitId subunit, long expectedEpoch, CancellationToken cancellationToken = default)
    {
        var entry = await _store.GetAsync(subunit.Key, cancellationToken).ConfigureAwait(false);
        var current = entry is null ? null : Decode(entry);
        if ((entry?.Version ?? 0) != expectedEpoch)
        {
            return new AcquireResult(null, current, AcquireFailure.EpochMismatch);
        }

        if (current is { State: OwnerState.Held } && current.Node != _self.NodeId)
        {
            return new AcquireResult(null, current, AcquireFailure.HeldByOther);
        }

        string selfKey = MetadataKeys.Node(_self.NodeId);
        var next = new OwnerRecord(_self.NodeId, expectedEpoch + 1, OwnerState.Held, _self.CreateRevision);
        var result = await _store.TxnAsync(
            [
                // The version compare pins exactly the record checked above (any change bumps it).
                Compare.Version(subunit.Key, CompareOp.Equal, expectedEpoch),
                Compare.CreateRevision(selfKey, CompareOp.Equal, _self.CreateRevision),
            ],
            [MetadataJson.PutJson(subunit.Key, next, MetadataJsonContext.Default.OwnerRecord), TxnOp.Get(subunit.Key)],
            [TxnOp.Get(subunit.Key), TxnOp.Get(selfKey)],
            cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            var written = result.Responses[1][0];
            return new AcquireResult(new OwnershipToken(subunit, _self.NodeId, written.Version, written.CreateRevision), next, AcquireFailure.None);
        }

        var now = result.Responses[0].Count == 0 ? null : Decode(result.Responses[0][0]);
        bool member = result.Responses[1].Count == 1 && result.Responses[1][0].CreateRevision == _self.CreateRevision;
        return new AcquireResult(null, now, member ? AcquireFailure.EpochMismatch : AcquireFailure.NotMember);
    }

    /// <summary>Hands the sub-unit back (epoch + 1, Released). False when the token is stale.</summary>
    public async Task<bool> ReleaseAsync(OwnershipToken token, CancellationToken cancellationToken = default)
    {
        var current = await _store.GetAsync(token.Subunit.Key, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return false;
        }

        var released = Decode(current) with { Epoch = token.Epoch + 1, State = OwnerState.Released };
        return await TryCommitFencedAsync(token, [MetadataJson.PutJson(token.Subunit.Key, released, MetadataJsonContext.Default.OwnerRecord)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True while <paramref name="token"/> is still the current ownership.</summary>
    public async Task<bool> IsCurrentAsync(OwnershipToken token, CancellationToken cancellationToken = default)
    {
        var entry = await _store.GetAsync(token.Subunit.Key, cancellationToken).ConfigureAwait(false);
        return entry is not null && entry.Version == token.Epoch && entry.CreateRevision == token.CreateRevision;
    }

    /// <summary>
    /// Commits <paramref name="ops"/> only if <paramref name="token"/> is still current — the
    /// metadata-side fence for an owner's writes. False (nothing written) for a stale epoch.
    /// </summary>
    public async Task<bool> TryCommitFencedAsync(OwnershipToken token, IReadOnlyList<TxnOp> ops, CancellationToken cancellationToken = default)
    {
        var result = await _store.TxnAsync(
            [
                Compare.Version(token.Subunit.Key, CompareOp.Equal, token.Epoch),
                Compare.CreateRevision(token.Subunit.Key, CompareOp.Equal, token.CreateRevision),
            ],
            ops,
            [],
            cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>
    /// Fences an incarnation of <paramref name="nodeId"/>: removes its node key if it is still that
    /// incarnation (so it can acquire nothing more and sees itself lost), then marks every sub-unit
    /// held by that incarnation or an earlier one Revoked at a new epoch, retrying records that
    /// change meanwhile. <paramref name="incarnation"/> 0 means whichever incarnation is live now
    /// (or, if none is, every earlier one). Idempotent; safe to run from several nodes at once. When
    /// it returns, every token of the fenced incarnations is stale, and a later incarnation of the
    /// same id is untouched. Returns the number of sub-units this call revoked.
    /// </summary>
    public async Task<int> RevokeNodeAsync(string nodeId, long incarnation = 0, CancellationToken cancellationToken = default)
    {
        string nodeKey = MetadataKeys.Node(nodeId);
        long cutoff = incarnation;
        if (cutoff == 0)
        {
            var read = await _store.TxnAsync([], [TxnOp.Get(nodeKey)], [], cancellationToken).ConfigureAwait(false);
            // No live key: any incarnation registering later has a create revision above this read.
            cutoff = read.Responses[0].Count == 1 ? read.Responses[0][0].CreateRevision : read.Revision;
        }

        await _store.TxnAsync([Compare.CreateRevision(nodeKey, CompareOp.Equal, cutoff)], [TxnOp.Delete(nodeKey)], [], cancellationToken).ConfigureAwait(false);
        int revoked = 0;
        while (true)
        {
            var range = await _store.GetRangeAsync(MetadataKeys.Owners, cancellationToken).ConfigureAwait(false);
            var held = range.Entries
                .Select(e => (Entry: e, Owner: Decode(e)))
                .Where(x => x.Owner.State == OwnerState.Held && x.Owner.Node == nodeId && x.Owner.Incarnation <= cutoff)
                .ToList();
            if (held.Count == 0)
            {
                return revoked;
            }

            foreach (var batch in held.Chunk(RevokeBatch))
            {
                // One txn per batch, each record guarded by its version: a record that moved on
                // meanwhile (released, or already revoked by a concurrent caller) fails the batch
                // and the next pass re-reads it.
                var result = await _store.TxnAsync(
                    batch.Select(x => Compare.Version(x.Entry.Key, CompareOp.Equal, x.Entry.Version)).ToList(),
                    batch.Select(x => MetadataJson.PutJson(x.Entry.Key, x.Owner with { Epoch = x.Entry.Version + 1, State = OwnerState.Revoked }, MetadataJsonContext.Default.OwnerRecord)).ToList(),
                    [],
                    cancellationToken).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    revoked += batch.Length;
                }
            }
        }
    }

    private static OwnerRecord Decode(KeyValueEntry entry) => MetadataJson.Deserialize(entry.Value, MetadataJsonContext.Default.OwnerRecord);
}
