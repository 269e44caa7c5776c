using System.Numerics;

namespace Tessera.Storage;

/// <summary>
/// Striped reader/writer lock over a byte address space. Each region (1 MiB by default) maps to
/// one of 64 stripes; a request locks the stripes its regions touch, in ascending stripe order
/// (so two requests never wait on each other in a cycle). Reads, writes and unmaps take their
/// stripes shared — they only need to exclude COMPARE AND WRITE, not each other — and
/// COMPARE AND WRITE takes them exclusive (SBC-4 5.3: the compare and the write are one atomic
/// operation with respect to every other command touching those blocks).
/// Shared acquisition is one interlocked operation per stripe and allocates nothing; the lock is
/// not thread-affine, so it may be released on another thread.
/// A waiting exclusive request raises the stripe's pending count, which holds back new shared
/// requests so a stream of writes cannot starve a COMPARE AND WRITE.
/// </summary>
internal sealed class RangeLock
{
    internal const int StripeCount = 64;

    // One cache line (64 bytes = 16 ints) per stripe: [0] = state (-1 exclusive, n >= 0 shared
    // holders), [1] = exclusive waiters. Keeps stripes from false-sharing between cores.
    private const int Stride = 16;

    private readonly int[] _slots = new int[StripeCount * Stride];
    private readonly int _regionShift;

    internal RangeLock(int regionShift = 20)
    {
        _regionShift = regionShift;
    }

    /// <summary>The set of stripes covering [offset, offset + length), as a bit mask.</summary>
    internal ulong StripesFor(long offset, long length)
    {
        long first = offset >> _regionShift;
        long last = (offset + Math.Max(length, 1) - 1) >> _regionShift;
        if (last - first >= StripeCount - 1)
        {
            return ulong.MaxValue;
        }
        ulong mask = 0;
        for (long region = first; region <= last; region++)
        {
            mask |= 1UL << (int)(region & (StripeCount - 1));
        }
        return mask;
    }

    internal ulong EnterShared(long offset, long length)
    {
        ulong stripes = StripesFor(offset, length);
        for (ulong m = stripes; m != 0; m &= m - 1)
        {
            AcquireShared(BitOperations.TrailingZeroCount(m));
        }
        return stripes;
    }

    internal void ExitShared(ulong stripes)
    {
        for (ulong m = stripes; m != 0; m &= m - 1)
        {
            Interlocked.Decrement(ref _slots[BitOperations.TrailingZeroCount(m) * Stride]);
        }
    }

    internal ulong EnterExclusive(long offset, long length)
    {
        ulong stripes = StripesFor(offset, length);
        for (ulong m = stripes; m != 0; m &= m - 1)
        {
            AcquireExclusive(BitOperations.TrailingZeroCount(m));
        }
        return stripes;
    }

    internal void ExitExclusive(ulong stripes)
    {
        for (ulong m = stripes; m != 0; m &= m - 1)
        {
            Volatile.Write(ref _slots[BitOperations.TrailingZeroCount(m) * Stride], 0);
        }
    }

    private void AcquireShared(int stripe)
    {
        ref int state = ref _slots[stripe * Stride];
        ref int pending = ref _slots[stripe * Stride + 1];
        SpinWait spin = default;
        while (true)
        {
            if (Volatile.Read(ref pending) == 0)
            {
                int current = Volatile.Read(ref state);
                if (current >= 0 && Interlocked.CompareExchange(ref state, current + 1, current) == current)
                {
                    return;
                }
            }
            spin.SpinOnce();
        }
    }

    private void AcquireExclusive(int stripe)
    {
        ref int state = ref _slots[stripe * Stride];
        ref int pending = ref _slots[stripe * Stride + 1];
        Interlocked.Increment(ref pending);
        SpinWait spin = default;
        while (Interlocked.CompareExchange(ref state, -1, 0) != 0)
        {
            spin.SpinOnce();
        }
        Interlocked.Decrement(ref pending);
    }
}
