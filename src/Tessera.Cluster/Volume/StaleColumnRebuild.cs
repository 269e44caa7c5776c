using Tessera.Cluster.Metadata;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>What one <see cref="StaleColumnRebuild.RunAsync"/> achieved.</summary>
internal enum StaleRebuildOutcome
{
    /// <summary>There was no stale record for the node: nothing to do.</summary>
    NotStale,

    /// <summary>Every column rebuilt and the stale record deleted.</summary>
    Cleared,

    /// <summary>Every column rebuilt, but the record was put again or membership changed meanwhile: try again.</summary>
    Changed,
}

/// <summary>
/// The coordinator of a stale node's rebuild across processes (docs/cluster-node.md, "Stale
/// columns"). One run:
/// <list type="number">
/// <item>reads the stale record's mod revision and the create revision of every guard key (the
/// placement nodes' membership keys) in one transaction;</item>
/// <item>begins a session on every placement node (each arms and notes the volumes open there);</item>
/// <item>only then lists the volumes, and has each sub-unit's current owner rebuild the stale column of
/// every stripe of it (owners in parallel, one sub-unit at a time per owner);</item>
/// <item>deletes the record in a transaction that requires its mod revision and every guard's create
/// revision unchanged: a write that skipped the node's column outside what was rebuilt has put the
/// record again, and a membership change has changed a guard — either way nothing is deleted.</item>
/// </list>
/// A failure on the way (a node unreachable, a sub-unit moving, a session aborted) throws; the caller
/// tries again later.
/// </summary>
internal sealed class StaleColumnRebuild(IMetadataStore store, ColumnRebuildChannel channel)
{
    private const int SubUnitAttempts = 3;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private long _stripes;
    private long _subUnits;

    /// <summary>Stripes rebuilt by the last run.</summary>
    public long StripesRebuilt => Interlocked.Read(ref _stripes);

    /// <summary>Sub-units rebuilt by the last run.</summary>
    public long SubUnitsRebuilt => Interlocked.Read(ref _subUnits);

    /// <param name="staleNodeId">The stale node's id in the metadata store (its record is <c>/tessera/stale/&lt;id&gt;</c>).</param>
    /// <param name="stale">The same node as a column index of the placement.</param>
    /// <param name="nodes">Every placement node (all must be live).</param>
    /// <param name="guardKeys">Keys whose create revision must not change during the run (membership).</param>
    /// <param name="listVolumes">The volumes to rebuild, read after every node has begun.</param>
    /// <param name="openVolume">The coordinator node's open volume (its layout and ownership view), or null.</param>
    public async Task<StaleRebuildOutcome> RunAsync(string staleNodeId, NodeId stale, IReadOnlyList<NodeId> nodes, IReadOnlyList<string> guardKeys,
        Func<CancellationToken, Task<IReadOnlyList<Guid>>> listVolumes, Func<Guid, NodeVolume?> openVolume, CancellationToken cancellationToken = default)
    {
        Interlocked.Exchange(ref _stripes, 0);
        Interlocked.Exchange(ref _subUnits, 0);
        string recordKey = StaleColumnLiveness.KeyOf(staleNodeId);
        TxnOp[] reads = [TxnOp.Get(recordKey), .. guardKeys.Select(TxnOp.Get)];
        TxnResult before = await store.TxnAsync([], reads, [], cancellationToken).ConfigureAwait(false);
        if (before.Responses[0].Count == 0)
        {
            return StaleRebuildOutcome.NotStale;
        }

        long recordRevision = before.Responses[0][0].ModRevision;
        var guards = new List<Compare> { Compare.ModRevision(recordKey, CompareOp.Equal, recordRevision) };
        for (int i = 0; i < guardKeys.Count; i++)
        {
            long created = before.Responses[i + 1].Count == 0 ? 0 : before.Responses[i + 1][0].CreateRevision;
            guards.Add(Compare.CreateRevision(guardKeys[i], CompareOp.Equal, created));
        }

        // Every node arms before the volumes are listed: a volume created later is not covered anywhere.
        await Task.WhenAll(nodes.Select(n => channel.BeginAsync(n, stale, cancellationToken))).ConfigureAwait(false);

        IReadOnlyList<Guid> ids = await listVolumes(cancellationToken).ConfigureAwait(false);
        var work = new List<(NodeVolume Volume, long SubUnit)>();
        foreach (Guid id in ids)
        {
            NodeVolume volume = openVolume(id) ?? throw new InvalidOperationException($"volume {id} is not open on the coordinator yet");
            for (long u = 0; u < volume.Layout.SubUnitCount; u++)
            {
                work.Add((volume, u));
            }
        }

        // One sub-unit at a time per owner, owners in parallel (grouped by the owner at the start; a
        // sub-unit that moved meanwhile is sent to its new owner).
        await Task.WhenAll(work.GroupBy(w => w.Volume.Ownership.Owner(w.SubUnit))
            .Select(group => RebuildAllAsync(group, stale, cancellationToken))).ConfigureAwait(false);

        TxnResult cleared = await store.TxnAsync(guards, [TxnOp.Delete(recordKey)], [], cancellationToken).ConfigureAwait(false);
        return cleared.Succeeded ? StaleRebuildOutcome.Cleared : StaleRebuildOutcome.Changed;
    }

    private async Task RebuildAllAsync(IEnumerable<(NodeVolume Volume, long SubUnit)> work, NodeId stale, CancellationToken cancellationToken)
    {
        foreach ((NodeVolume volume, long subUnit) in work)
        {
            for (int attempt = 1; ; attempt++)
            {
                NodeId owner = volume.Ownership.Owner(subUnit);
                long epoch = volume.Ownership.Epoch(subUnit);
                try
                {
                    long stripes = await channel.RebuildSubUnitAsync(owner, volume.Layout.VolumeId, subUnit, epoch, stale, cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _stripes, stripes);
                    Interlocked.Increment(ref _subUnits);

                    break;
                }
                catch (StaleOwnershipException) when (attempt < SubUnitAttempts)
                {
                    // The coordinator's view of the owner may lag the owner's: look again shortly.
                    await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
