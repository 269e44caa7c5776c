using Tessera.Cluster.Metadata;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Liveness with a memory: a node that missed writes (it was out while an owner wrote a stripe
/// without its column) keeps stale columns even after every process restarts, when no watch
/// remembers that it was away. Before the first such write the owner records it in the store
/// (<c>/tessera/stale/&lt;node&gt;</c>) — durably, before the write can be acknowledged; every node
/// reads those records at start and follows them, and treats the node's columns as missing (parity
/// stands in) until a rebuild clears the record. The node itself stays up as a portal and owner: only
/// its columns are out. A node that was merely away while nothing was written is not marked.
/// Each change of a node's stale flag bumps its <see cref="Generation"/>, so a rebuild's owner-local
/// state (<see cref="ColumnRebuilds"/>) taken under one staleness never carries over to the next.
/// </summary>
internal sealed class StaleColumnLiveness(INodeLiveness inner, IReadOnlyList<string> placement, IMetadataStore store) : INodeLiveness
{
    public const string Prefix = MetadataKeys.Root + "stale/";

    private static readonly byte[] Marker = "stale"u8.ToArray();

    private readonly bool[] _stale = new bool[placement.Count];
    private readonly long[] _generation = new long[placement.Count];

    public static string KeyOf(string nodeId) => Prefix + MetadataKeys.CheckSegment(nodeId);

    public bool IsUp(NodeId node) => inner.IsUp(node);

    public bool AcceptsChunkIo(NodeId node) => inner.AcceptsChunkIo(node);

    public bool IsColumnAvailable(Guid volume, NodeId node, long stripe) =>
        !IsStale(node) && inner.IsColumnAvailable(volume, node, stripe);

    public bool IsStale(NodeId node) => (uint)node.Value < (uint)_stale.Length && Volatile.Read(ref _stale[node.Value]);

    /// <summary>Bumped whenever the node's stale flag changes here (either way).</summary>
    public long Generation(NodeId node) => (uint)node.Value < (uint)_generation.Length ? Volatile.Read(ref _generation[node.Value]) : 0;

    public ValueTask BeforeDegradedWriteAsync(NodeId node, CancellationToken cancellationToken) =>
        IsStale(node) ? ValueTask.CompletedTask : new ValueTask(MarkStaleAsync(node, cancellationToken));

    /// <summary>Records in the store that <paramref name="node"/>'s columns are stale, then treats them so here.</summary>
    public async Task MarkStaleAsync(NodeId node, CancellationToken cancellationToken = default)
    {
        await store.PutAsync(KeyOf(placement[node.Value]), Marker, cancellationToken: cancellationToken).ConfigureAwait(false);
        SetStale(node.Value, true);
    }

    /// <summary>Takes the stale set from the store (called at start and then periodically).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        var range = await store.GetRangeAsync(Prefix, cancellationToken).ConfigureAwait(false);
        var stale = range.Entries.Select(e => e.Key[Prefix.Length..]).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < placement.Count; i++)
        {
            SetStale(i, stale.Contains(placement[i]));
        }
    }

    private void SetStale(int i, bool value)
    {
        lock (_generation)
        {
            if (Volatile.Read(ref _stale[i]) != value)
            {
                Volatile.Write(ref _generation[i], _generation[i] + 1);
                Volatile.Write(ref _stale[i], value);
            }
        }
    }
}
