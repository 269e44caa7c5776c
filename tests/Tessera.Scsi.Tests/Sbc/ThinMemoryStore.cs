namespace Tessera.Scsi.Tests.Sbc;

/// <summary>
/// In-memory thin store for the SBC tests: tracks which blocks are mapped (written) or deallocated, reports
/// runs from that map, and runs COMPARE AND WRITE under a lock that every write also takes.
/// </summary>
internal sealed class ThinMemoryStore(long blockCount, int blockSize = 512, int unmapGranularity = 8) : IBlockStore
{
    private readonly object _lock = new();

    public byte[] Data { get; } = new byte[blockCount * blockSize];
    public bool[] Mapped { get; } = new bool[blockCount];
    public int BlockSize { get; } = blockSize;
    public long BlockCount { get; } = blockCount;
    public bool IsReadOnly { get; set; }
    public int UnmapGranularityBlocks { get; } = unmapGranularity;
    public int Writes, Unmaps, Flushes, CompareAndWrites;
    public WriteFlags LastWriteFlags;

    /// <summary>When set, the next store call throws it (sanitize failure tests).</summary>
    public Exception? FailNext;

    /// <summary>When set, writes wait for it (holds a sanitize "in progress").</summary>
    public TaskCompletionSource? WriteGate;

    public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        Check(lba, destination.Length);
        lock (_lock) Data.AsSpan((int)(lba * BlockSize), destination.Length).CopyTo(destination.Span);
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref FailNext, null) is { } failure) throw failure;
        Check(lba, source.Length);
        if (IsReadOnly) throw new InvalidOperationException("read-only");
        if (WriteGate is { } gate) return new ValueTask(WriteGatedAsync(gate.Task, lba, source, flags));
        Write(lba, source.Span, flags);
        return ValueTask.CompletedTask;
    }

    private async Task WriteGatedAsync(Task gate, long lba, ReadOnlyMemory<byte> source, WriteFlags flags)
    {
        await gate;
        Write(lba, source.Span, flags);
    }

    private void Write(long lba, ReadOnlySpan<byte> source, WriteFlags flags)
    {
        lock (_lock)
        {
            source.CopyTo(Data.AsSpan((int)(lba * BlockSize)));
            Mapped.AsSpan((int)lba, source.Length / BlockSize).Fill(true);
            Writes++;
            LastWriteFlags = flags;
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Flushes);
        return ValueTask.CompletedTask;
    }

    public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default)
    {
        Check(lba, (int)(blockCount * BlockSize));
        lock (_lock)
        {
            Data.AsSpan((int)(lba * BlockSize), (int)(blockCount * BlockSize)).Clear();
            Mapped.AsSpan((int)lba, (int)blockCount).Clear();
            Unmaps++;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        Check(lba, compare.Length);
        lock (_lock)
        {
            CompareAndWrites++;
            var current = Data.AsSpan((int)(lba * BlockSize), compare.Length);
            int i = current.CommonPrefixLength(compare.Span);
            if (i < compare.Length) return new ValueTask<int>(i);
            Write(lba, write.Span, flags);
            return new ValueTask<int>(-1);
        }
    }

    public ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default)
    {
        if (lba < 0 || lba >= BlockCount) throw new ArgumentOutOfRangeException(nameof(lba));
        lock (_lock)
        {
            bool mapped = Mapped[lba];
            long end = lba + 1;
            while (end < BlockCount && Mapped[end] == mapped) end++;
            return new ValueTask<LbaStatusRun>(new LbaStatusRun(lba, end - lba, mapped));
        }
    }

    private void Check(long lba, int length)
    {
        if (length % BlockSize != 0) throw new ArgumentException("not whole blocks");
        if (lba < 0 || lba + length / BlockSize > BlockCount) throw new ArgumentOutOfRangeException(nameof(lba));
    }
}
