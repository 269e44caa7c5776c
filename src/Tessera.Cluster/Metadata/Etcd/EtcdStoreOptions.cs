namespace Tessera.Cluster.Metadata.Etcd;

/// <summary>Tuning of <see cref="EtcdMetadataStore"/>.</summary>
internal sealed record EtcdStoreOptions
{
    /// <summary>Deadline of each unary call, so an unreachable etcd fails calls instead of hanging them.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause before a watch or keep-alive stream is re-established.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Events buffered per watch before the gRPC stream is back-pressured.</summary>
    public int WatchBuffer { get; init; } = 1024;
}
