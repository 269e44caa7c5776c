namespace Tessera.Scsi.Tests;

/// <summary>In-memory <see cref="IBlockStore"/> test double; every call completes synchronously unless gated.</summary>
internal sealed class MemoryBlockStore(long blockCount, int blockSize = 512, bool readOnly = false) : IBlockStore
{
    public byte[] Data { get; } = new byte[blockCount * blockSize];
    public int BlockSize { get; } = blockSize;
    public long BlockCount { get; } = blockCount;
    public bool IsReadOnly { get; set; } = readOnly;

    public int Flushes;
    public int Writes;
    public WriteFlags LastWriteFlags;

    /// <summary>When set, reads wait for it (to hold a command "running" in TMF tests).</summary>
    public TaskCompletionSource? ReadGate;

    /// <summary>Signalled when a read enters the store.</summary>
    public TaskCompletionSource ReadEntered { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, the next read or write throws it.</summary>
    public Exception? FailNext;

    public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref FailNext, null) is { } failure) throw failure;
        Check(lba, destination.Length);
        if (ReadGate is { } gate)
        {
            ReadEntered.TrySetResult();
            return new ValueTask(ReadGatedAsync(gate.Task, lba, destination));
        }
        Data.AsSpan((int)(lba * BlockSize), destination.Length).CopyTo(destination.Span);
        return ValueTask.CompletedTask;
    }

    private async Task ReadGatedAsync(Task gate, long lba, Memory<byte> destination)
    {
        await gate;
        Data.AsSpan((int)(lba * BlockSize), destination.Length).CopyTo(destination.Span);
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref FailNext, null) is { } failure) throw failure;
        Check(lba, source.Length);
        if (IsReadOnly) throw new InvalidOperationException("write to a read-only store");
        source.Span.CopyTo(Data.AsSpan((int)(lba * BlockSize)));
        Writes++;
        LastWriteFlags = flags;
        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        Flushes++;
        return ValueTask.CompletedTask;
    }

    public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default)
    {
        Data.AsSpan((int)(lba * BlockSize), (int)(blockCount * BlockSize)).Clear();
        return ValueTask.CompletedTask;
    }

    public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        var current = Data.AsSpan((int)(lba * BlockSize), compare.Length);
        int i = current.CommonPrefixLength(compare.Span);
        if (i < compare.Length) return new ValueTask<int>(i);
        write.Span.CopyTo(current);
        return new ValueTask<int>(-1);
    }

    public ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default) =>
        new(new LbaStatusRun(lba, BlockCount - lba, true));

    private void Check(long lba, int length)
    {
        if (length % BlockSize != 0) throw new ArgumentException("not whole blocks");
        if (lba < 0 || lba + length / BlockSize > BlockCount) throw new ArgumentOutOfRangeException(nameof(lba));
    }
}
