namespace Tessera.Cluster.Metadata;

/// <summary>Kind of a transaction operation (etcd RequestOp).</summary>
internal enum TxnOpKind
{
    Put,
    Delete,
    DeletePrefix,
    Get,
    GetPrefix,
}

/// <summary>One operation inside a transaction branch.</summary>
internal sealed record TxnOp(TxnOpKind Kind, string Key, ReadOnlyMemory<byte> Value, long Lease)
{
    public static TxnOp Put(string key, ReadOnlyMemory<byte> value, long leaseId = 0) => new(TxnOpKind.Put, key, value, leaseId);

    public static TxnOp Delete(string key) => new(TxnOpKind.Delete, key, default, 0);

    public static TxnOp DeletePrefix(string prefix) => new(TxnOpKind.DeletePrefix, prefix, default, 0);

    public static TxnOp Get(string key) => new(TxnOpKind.Get, key, default, 0);

    public static TxnOp GetPrefix(string prefix) => new(TxnOpKind.GetPrefix, prefix, default, 0);

    internal bool IsWrite => Kind is TxnOpKind.Put or TxnOpKind.Delete or TxnOpKind.DeletePrefix;
}

/// <summary>
/// Outcome of a transaction. <see cref="Revision"/> is the store revision after it (the
/// revision of its writes when it wrote anything). <see cref="Responses"/> has one entry per
/// executed op: the keys read for Get ops, the keys deleted (prior values) for deletes, empty for puts.
/// </summary>
internal sealed record TxnResult(bool Succeeded, long Revision, IReadOnlyList<IReadOnlyList<KeyValueEntry>> Responses);
