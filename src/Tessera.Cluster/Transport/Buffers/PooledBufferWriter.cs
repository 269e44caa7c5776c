using System.Buffers;

namespace Tessera.Cluster.Transport.Buffers;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}"/> arrays, owned by a
/// pooled request or response context and reused across frames: payloads are serialised here
/// before the frame is written, so the length is known for the header and an oversized payload
/// is refused without leaving half a frame in the link's output.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>
{
    /// <summary>Arrays up to this size stay with the writer between uses; bigger ones go back to the pool.</summary>
    private const int RetainedSize = 64 * 1024;

    private byte[] _buffer = [];
    private int _written;

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        data.CopyTo(GetSpan(data.Length));
        _written += data.Length;
    }

    /// <summary>Forgets the content; keeps a modest array for the next frame.</summary>
    public void Reset()
    {
        _written = 0;
        if (_buffer.Length > RetainedSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void Ensure(int sizeHint)
    {
        int need = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= need)
        {
            return;
        }

        long wanted = Math.Max((long)_written + need, Math.Max(256, (long)_buffer.Length * 2));
        byte[] next = ArrayPool<byte>.Shared.Rent((int)Math.Min(wanted, Array.MaxLength));
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }
}
