using System.Buffers;
using System.Collections.Concurrent;

namespace Tessera.Cluster.Transport.Buffers;

/// <summary>
/// Fixed 64 KiB pinned blocks with reused owner objects under both pipes of every link, so
/// segments are rented and returned without allocating (MemoryPool&lt;byte&gt;.Shared allocates an
/// owner per rent). Larger requests, which the pipes never make with this segment size, get a
/// fresh owner over <see cref="ArrayPool{T}"/>.
/// </summary>
internal sealed class FrameMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Blocks kept for reuse (64 MiB); beyond this returned blocks go to the GC.</summary>
    private const int MaxRetained = 1024;

    public static new readonly FrameMemoryPool Shared = new();

    private readonly ConcurrentQueue<Block> _free = new();
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            return new Oversize(minBufferSize);
        }

        if (_free.TryDequeue(out Block? block))
        {
            Interlocked.Decrement(ref _retained);
            block.Returned = false;
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
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

    private sealed class Block(FrameMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public bool Returned;

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            if (Returned)
            {
                return;
            }

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
            byte[]? array = Interlocked.Exchange(ref _array, null);
            if (array is not null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
