namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>Tuning of <see cref="EmbeddedMetadataStore"/>.</summary>
internal sealed record EmbeddedStoreOptions
{
    /// <summary>Events kept for watches that start in the past; older revisions read as compacted.</summary>
    public int HistoryLimit { get; init; } = 100_000;

    /// <summary>Log size past which the snapshot is rewritten and the log emptied.</summary>
    public long SnapshotThresholdBytes { get; init; } = 8L << 20;
}
