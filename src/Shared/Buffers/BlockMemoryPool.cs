using System.Buffers;
using System.Collections.Concurrent;

namespace Tessera.Buffers;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of fixed 64 KiB blocks whose owner objects are reused, so the
/// pipes under every iSCSI connection and inter-node link (this file is compiled into both
/// assemblies) rent and return segments without allocating (the shared
/// array-backed pool allocates an owner object per rent). Requests above a block go to
/// <see cref="ArrayPool{T}"/> with a fresh owner; pipes never make them with our segment size.
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Blocks kept for reuse; beyond this returned blocks are left to the GC.</summary>
    private const int MaxRetained = 4096;

    public static new readonly BlockMemoryPool Shared = new();

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) return new Oversize(minBufferSize);
        if (_free.TryDequeue(out Block? block))
        {
            Interlocked.Decrement(ref _retained);
            block.Returned = false;
            return block;
        }
        return new Block(this);
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _retained) > MaxRetained)
        {
            Interlocked.Decrement(ref _retained);
            return;
        }
        _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(BlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        public bool Returned;

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            if (Returned) return;
            Returned = true;
            pool.Return(this);
        }
    }

    private sealed class Oversize(int size) : IMemoryOwner<byte>
    {
        private byte[]? _array = ArrayPool<byte>.Shared.Rent(size);

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Oversize));

        public void Dispose()
        {
            var a = Interlocked.Exchange(ref _array, null);
            if (a is not null) ArrayPool<byte>.Shared.Return(a);
        }
    }
}
