using System.Buffers;
using System.Runtime.CompilerServices;

namespace Tessera.Parity.Coding;

/// <summary>
/// Pins k + 2 separately allocated column buffers for one call without touching the GC heap:
/// the handles live in an inline array on the stack.
/// </summary>
[InlineArray(ParityGeometry.MaxDataColumns + 2)]
internal struct PinnedColumns
{
    private MemoryHandle _first;

    /// <summary>Pins every column and writes its address to <paramref name="addresses"/>.</summary>
    public unsafe void Pin(ReadOnlySpan<Memory<byte>> columns, nint* addresses)
    {
        for (int c = 0; c < columns.Length; c++)
        {
            this[c] = columns[c].Pin();
            addresses[c] = (nint)this[c].Pointer;
        }
    }

    public void Release(int count)
    {
        for (int c = 0; c < count; c++)
        {
            this[c].Dispose();
        }
    }
}
