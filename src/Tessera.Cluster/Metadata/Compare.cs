namespace Tessera.Cluster.Metadata;

/// <summary>What a <see cref="Compare"/> looks at (etcd Compare.CompareTarget).</summary>
internal enum CompareTarget
{
    Version,
    CreateRevision,
    ModRevision,
    Value,
}

/// <summary>etcd Compare.CompareResult: the key's field is compared against the operand.</summary>
internal enum CompareOp
{
    Equal,
    NotEqual,
    Less,
    Greater,
}

/// <summary>
/// One transaction guard. An absent key has version, create and mod revision 0 and an
/// empty value — as in etcd, so "create if absent" is <c>Compare.Absent(key)</c>.
/// </summary>
internal sealed record Compare(string Key, CompareTarget Target, CompareOp Op, long Number, ReadOnlyMemory<byte> Value)
{
    public static Compare Version(string key, CompareOp op, long version) => new(key, CompareTarget.Version, op, version, default);

    public static Compare CreateRevision(string key, CompareOp op, long revision) => new(key, CompareTarget.CreateRevision, op, revision, default);

    public static Compare ModRevision(string key, CompareOp op, long revision) => new(key, CompareTarget.ModRevision, op, revision, default);

    public static Compare ValueIs(string key, CompareOp op, ReadOnlyMemory<byte> value) => new(key, CompareTarget.Value, op, 0, value);

    /// <summary>The key does not exist (etcd idiom: version == 0).</summary>
    public static Compare Absent(string key) => Version(key, CompareOp.Equal, 0);

    /// <summary>The key exists.</summary>
    public static Compare Exists(string key) => Version(key, CompareOp.Greater, 0);

    /// <summary>Evaluates against a key's current state (null = absent). Shared so both stores agree.</summary>
    public bool Holds(KeyValueEntry? entry)
    {
        int c = Target switch
        {
            CompareTarget.Version => (entry?.Version ?? 0).CompareTo(Number),
            CompareTarget.CreateRevision => (entry?.CreateRevision ?? 0).CompareTo(Number),
            CompareTarget.ModRevision => (entry?.ModRevision ?? 0).CompareTo(Number),
            // etcd compares values bytewise; an absent key never matches a value compare.
            CompareTarget.Value => entry is null ? int.MinValue : entry.Value.Span.SequenceCompareTo(Value.Span),
            _ => throw new ArgumentOutOfRangeException(nameof(Target)),
        };
        if (c == int.MinValue)
        {
            return false;
        }

        return Op switch
        {
            CompareOp.Equal => c == 0,
            CompareOp.NotEqual => c != 0,
            CompareOp.Less => c < 0,
            CompareOp.Greater => c > 0,
            _ => throw new ArgumentOutOfRangeException(nameof(Op)),
        };
    }
}
