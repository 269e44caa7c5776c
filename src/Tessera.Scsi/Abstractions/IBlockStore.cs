namespace Tessera.Scsi;

/// <summary>Flags that ride along with a write (SBC-4 5.x: FUA bit).</summary>
[Flags]
public enum WriteFlags
{
    None = 0,
    /// <summary>Force Unit Access: the data is on stable storage before the write completes.</summary>
    Fua = 1,
}

/// <summary>One run of blocks that share a provisioning status (SBC-4 5.6, GET LBA STATUS).</summary>
public readonly record struct LbaStatusRun(long Lba, long BlockCount, bool Mapped);

/// <summary>
/// The only way SCSI command code reaches data. A single-node volume implements it on the
/// local chunk store; the distributed volume implements it by forwarding to sub-unit owners.
/// All offsets are in logical blocks; buffer lengths are whole blocks. Implementations are
/// safe for concurrent calls; ordering between overlapping concurrent calls is the caller's
/// business except for <see cref="CompareAndWriteAsync"/>, which is atomic against every write.
/// </summary>
public interface IBlockStore
{
    /// <summary>Logical block length in bytes (512 or 4096).</summary>
    int BlockSize { get; }

    /// <summary>Number of logical blocks.</summary>
    long BlockCount { get; }

    /// <summary>True when the volume is write-protected (SBC-4 4.x, DATA PROTECT).</summary>
    bool IsReadOnly { get; }

    /// <summary>
    /// Blocks per allocation unit: UNMAP gives space back only for whole units (VPD B0h OPTIMAL UNMAP
    /// GRANULARITY, SBC-4 6.6.4). Added with a default so existing stores keep compiling.
    /// </summary>
    int UnmapGranularityBlocks => 1;

    /// <summary>Reads whole blocks; unwritten or unmapped blocks read as zeros.</summary>
    ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default);

    /// <summary>Writes whole blocks; with <see cref="WriteFlags.Fua"/> they are durable on completion.</summary>
    ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default);

    /// <summary>Makes every completed write durable (SYNCHRONIZE CACHE).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Deallocates blocks: they read as zeros afterwards and their space is given back.</summary>
    ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically compares <paramref name="compare"/> with the blocks at <paramref name="lba"/> and,
    /// only if equal, writes <paramref name="write"/> there (SBC-4 5.3 COMPARE AND WRITE).
    /// Returns -1 on success, otherwise the byte offset of the first miscompare.
    /// </summary>
    ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default);

    /// <summary>The provisioning status of the run of blocks starting at <paramref name="lba"/>.</summary>
    ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default);
}
