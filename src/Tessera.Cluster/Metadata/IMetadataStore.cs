namespace Tessera.Cluster.Metadata;

/// <summary>
/// The cluster's linearizable key/value control plane, shaped like etcd v3 so that the
/// embedded and the etcd implementation map 1:1 (ARCHITECTURE key decision 5).
/// Keys are UTF-8 strings ("/tessera/..."), values opaque bytes. Every mutation bumps the
/// store-wide revision by one (a transaction counts once); reads and watches expose
/// create/mod revisions and the per-key version exactly as etcd does.
/// </summary>
internal interface IMetadataStore : IAsyncDisposable
{
    /// <summary>The key, or null when absent.</summary>
    Task<KeyValueEntry?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every key starting with <paramref name="prefix"/> in key order, plus the store revision the read saw.</summary>
    Task<RangeResult> GetRangeAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Writes the key (attached to <paramref name="leaseId"/> when non-zero) and returns the new revision.</summary>
    Task<long> PutAsync(string key, ReadOnlyMemory<byte> value, long leaseId = 0, CancellationToken cancellationToken = default);

    /// <summary>Deletes the key; returns whether it existed and the store revision after the call.</summary>
    Task<DeleteResult> DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically evaluates every compare; when all hold runs <paramref name="onSuccess"/>,
    /// otherwise <paramref name="onFailure"/>. One revision for all writes of the branch.
    /// </summary>
    Task<TxnResult> TxnAsync(
        IReadOnlyList<Compare> compares,
        IReadOnlyList<TxnOp> onSuccess,
        IReadOnlyList<TxnOp> onFailure,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Events for keys under <paramref name="prefix"/> in revision order, starting at
    /// <paramref name="fromRevision"/> (inclusive; 0 = changes after now). The sequence survives
    /// reconnects (it resumes after the last delivered revision) and ends only by cancellation,
    /// or with <see cref="MetadataCompactedException"/> when the start revision is no longer retained.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, CancellationToken cancellationToken = default);

    /// <summary>Grants a lease; keys put with it are deleted when it lapses or is revoked.</summary>
    Task<long> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Renews the lease once; returns the remaining TTL, or null when the lease is already gone.</summary>
    Task<TimeSpan?> RefreshLeaseAsync(long leaseId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Renews the lease every TTL/3 until cancelled (then returns). Throws
    /// <see cref="MetadataLeaseLostException"/> when the lease lapsed or was revoked meanwhile.
    /// </summary>
    Task KeepAliveAsync(long leaseId, CancellationToken cancellationToken = default);

    /// <summary>Revokes the lease, deleting its keys at one revision. Revoking an unknown lease is a no-op.</summary>
    Task RevokeLeaseAsync(long leaseId, CancellationToken cancellationToken = default);
}
