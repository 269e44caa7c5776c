using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>One in-memory volume shared by every node's LogicalUnit (stands in for the distributed volume).</summary>
internal sealed class SharedMemoryBlockStore(long blockCount, int blockSize = 512) : IBlockStore
{
    private readonly byte[] _data = new byte[blockCount * blockSize];
    private readonly Lock _gate = new();

    public int BlockSize { get; } = blockSize;

    public long BlockCount { get; } = blockCount;

    public bool IsReadOnly => false;

    public int Writes { get; private set; }

    /// <summary>When set, reads wait for it: holds a command "running" on its node (task management tests).</summary>
    public TaskCompletionSource? ReadGate { get; set; }

    /// <summary>Signalled when a read enters the store and waits at <see cref="ReadGate"/>.</summary>
    public TaskCompletionSource ReadEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (ReadGate is { } gate)
        {
            ReadEntered.TrySetResult();
            return new ValueTask(ReadGatedAsync(gate.Task, lba, destination));
        }

        Copy(lba, destination);
        return ValueTask.CompletedTask;
    }

    private async Task ReadGatedAsync(Task gate, long lba, Memory<byte> destination)
    {
        await gate;
        Copy(lba, destination);
    }

    private void Copy(long lba, Memory<byte> destination)
    {
        lock (_gate)
        {
            _data.AsSpan(Offset(lba, destination.Length), destination.Length).CopyTo(destination.Span);
        }
    }

    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            source.Span.CopyTo(_data.AsSpan(Offset(lba, source.Length)));
            Writes++;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _data.AsSpan(Offset(lba, (int)(blockCount * BlockSize)), (int)(blockCount * BlockSize)).Clear();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var current = _data.AsSpan(Offset(lba, compare.Length), compare.Length);
            for (int i = 0; i < current.Length; i++)
            {
                if (current[i] != compare.Span[i])
                {
                    return ValueTask.FromResult(i);
                }
            }

            write.Span.CopyTo(current);
            return ValueTask.FromResult(-1);
        }
    }

    public ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new LbaStatusRun(lba, BlockCount - lba, Mapped: true));

    private int Offset(long lba, int length)
    {
        if (lba < 0 || lba * BlockSize + length > _data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(lba));
        }

        return (int)(lba * BlockSize);
    }
}
