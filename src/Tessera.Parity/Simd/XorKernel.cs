using System.Runtime.CompilerServices;

namespace Tessera.Parity.Simd;

/// <summary>
/// The XOR loops every codec operation is made of, written once and specialised per lane width.
/// Sources are given as a table of base addresses plus one shared offset so that callers can
/// build a block's source list once and slide it across the tiles of a stripe.
/// Four lanes are kept in flight per source so each source pointer is fetched once per
/// 4 × lane bytes and the loads of different sources overlap.
/// </summary>
internal static unsafe class XorKernel<TLane>
    where TLane : unmanaged, IXorLane<TLane>
{
    /// <summary>destination[0..length) = XOR over i of (sources[i] + offset)[0..length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather(nint* sources, int count, nint offset, byte* destination, nint length)
    {
        nint size = TLane.Size;
        nint i = 0;
        for (; i + 4 * size <= length; i += 4 * size)
        {
            byte* s = (byte*)(sources[0] + offset + i);
            TLane a0 = TLane.Load(s);
            TLane a1 = TLane.Load(s + size);
            TLane a2 = TLane.Load(s + 2 * size);
            TLane a3 = TLane.Load(s + 3 * size);
            for (int j = 1; j < count; j++)
            {
                s = (byte*)(sources[j] + offset + i);
                a0 = TLane.Xor(a0, TLane.Load(s));
                a1 = TLane.Xor(a1, TLane.Load(s + size));
                a2 = TLane.Xor(a2, TLane.Load(s + 2 * size));
                a3 = TLane.Xor(a3, TLane.Load(s + 3 * size));
            }

            byte* d = destination + i;
            TLane.Store(d, a0);
            TLane.Store(d + size, a1);
            TLane.Store(d + 2 * size, a2);
            TLane.Store(d + 3 * size, a3);
        }

        for (; i + size <= length; i += size)
        {
            TLane a = TLane.Load((byte*)(sources[0] + offset + i));
            for (int j = 1; j < count; j++)
            {
                a = TLane.Xor(a, TLane.Load((byte*)(sources[j] + offset + i)));
            }

            TLane.Store(destination + i, a);
        }

        for (; i < length; i++)
        {
            byte b = *(byte*)(sources[0] + offset + i);
            for (int j = 1; j < count; j++)
            {
                b ^= *(byte*)(sources[j] + offset + i);
            }

            destination[i] = b;
        }
    }

    /// <summary>True when the XOR over all sources is zero everywhere (a parity equation holds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool SumIsZero(nint* sources, int count, nint offset, nint length)
    {
        nint size = TLane.Size;
        nint i = 0;
        for (; i + 4 * size <= length; i += 4 * size)
        {
            byte* s = (byte*)(sources[0] + offset + i);
            TLane a0 = TLane.Load(s);
            TLane a1 = TLane.Load(s + size);
            TLane a2 = TLane.Load(s + 2 * size);
            TLane a3 = TLane.Load(s + 3 * size);
            for (int j = 1; j < count; j++)
            {
                s = (byte*)(sources[j] + offset + i);
                a0 = TLane.Xor(a0, TLane.Load(s));
                a1 = TLane.Xor(a1, TLane.Load(s + size));
                a2 = TLane.Xor(a2, TLane.Load(s + 2 * size));
                a3 = TLane.Xor(a3, TLane.Load(s + 3 * size));
            }

            if (!TLane.IsZero(TLane.Or(TLane.Or(a0, a1), TLane.Or(a2, a3))))
            {
                return false;
            }
        }

        for (; i + size <= length; i += size)
        {
            TLane a = TLane.Load((byte*)(sources[0] + offset + i));
            for (int j = 1; j < count; j++)
            {
                a = TLane.Xor(a, TLane.Load((byte*)(sources[j] + offset + i)));
            }

            if (!TLane.IsZero(a))
            {
                return false;
            }
        }

        for (; i < length; i++)
        {
            byte b = *(byte*)(sources[0] + offset + i);
            for (int j = 1; j < count; j++)
            {
                b ^= *(byte*)(sources[j] + offset + i);
            }

            if (b != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Each target ^= (left ^ right): a write's delta folded into up to three parity ranges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void XorDeltaInto(byte* left, byte* right, nint* targets, int targetCount, nint length)
    {
        nint size = TLane.Size;
        nint i = 0;
        for (; i + 2 * size <= length; i += 2 * size)
        {
            TLane d0 = TLane.Xor(TLane.Load(left + i), TLane.Load(right + i));
            TLane d1 = TLane.Xor(TLane.Load(left + i + size), TLane.Load(right + i + size));
            for (int t = 0; t < targetCount; t++)
            {
                byte* p = (byte*)targets[t] + i;
                TLane.Store(p, TLane.Xor(TLane.Load(p), d0));
                TLane.Store(p + size, TLane.Xor(TLane.Load(p + size), d1));
            }
        }

        for (; i + size <= length; i += size)
        {
            TLane d = TLane.Xor(TLane.Load(left + i), TLane.Load(right + i));
            for (int t = 0; t < targetCount; t++)
            {
                byte* p = (byte*)targets[t] + i;
                TLane.Store(p, TLane.Xor(TLane.Load(p), d));
            }
        }

        for (; i < length; i++)
        {
            byte d = (byte)(left[i] ^ right[i]);
            for (int t = 0; t < targetCount; t++)
            {
                ((byte*)targets[t])[i] ^= d;
            }
        }
    }

    /// <summary>destination ^= source.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void XorInto(byte* destination, byte* source, nint length)
    {
        nint size = TLane.Size;
        nint i = 0;
        for (; i + size <= length; i += size)
        {
            TLane.Store(destination + i, TLane.Xor(TLane.Load(destination + i), TLane.Load(source + i)));
        }

        for (; i < length; i++)
        {
            destination[i] ^= source[i];
        }
    }
}
