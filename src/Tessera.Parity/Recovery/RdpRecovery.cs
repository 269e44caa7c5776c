using Tessera.Parity.Coding;
using Tessera.Parity.Layout;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Recovery;

/// <summary>
/// Rebuilds one or two erased columns (RDP §4). Every byte offset inside a block is an independent
/// codeword, so all of this runs on a window of in-block offsets at a time (cache tiles, or just
/// the bytes a degraded read needs).
/// <para>
/// Two erased RDP columns x and y (data or row parity): the diagonal that misses x, (x − 1) mod p,
/// has only y's block missing, so it yields that block; its row then yields x's block; the diagonal
/// through that block has only y's block missing, and so on, until the walk reaches the unstored
/// diagonal p − 1. Starting again from the diagonal that misses y gives the other chain; the two
/// chains together cover all 2(p − 1) lost blocks because p is prime.
/// </para>
/// </summary>
internal static unsafe class RdpRecovery
{
    /// <summary>Rebuilds every block of the erased columns (<paramref name="second"/> = −1 for one).</summary>
    public static void Reconstruct(in StripeView stripe, int first, int second)
    {
        ParityGeometry g = stripe.Geometry;
        Recover(stripe, first, second, target: -1, rowFrom: 0, rowTo: g.RowsPerColumn - 1, windowStart: 0, windowEnd: g.BlockSize);
    }

    /// <summary>
    /// Rebuilds at least bytes [offset, offset + length) of erased column <paramref name="target"/>,
    /// touching only the in-block offsets and (for two erasures) the chain prefix those bytes need.
    /// </summary>
    public static void ReconstructRange(in StripeView stripe, int first, int second, int target, int offset, int length)
    {
        int blockSize = stripe.Geometry.BlockSize;
        int firstRow = offset / blockSize;
        int lastRow = (offset + length - 1) / blockSize;
        int startInBlock = offset % blockSize;
        int endInBlock = ((offset + length - 1) % blockSize) + 1;
        if (firstRow == lastRow)
        {
            Recover(stripe, first, second, target, firstRow, firstRow, startInBlock, endInBlock);
        }
        else if (lastRow == firstRow + 1 && endInBlock <= startInBlock)
        {
            // The tail of one block and the head of the next share no in-block offsets: two windows.
            Recover(stripe, first, second, target, firstRow, firstRow, startInBlock, blockSize);
            Recover(stripe, first, second, target, lastRow, lastRow, 0, endInBlock);
        }
        else
        {
            Recover(stripe, first, second, target, firstRow, lastRow, 0, blockSize);
        }
    }

    private static void Recover(in StripeView stripe, int first, int second, int target, int rowFrom, int rowTo, int windowStart, int windowEnd)
    {
        ParityGeometry g = stripe.Geometry;
        int diagonalParity = g.DiagonalParityColumn;
        bool hasDiagonal = first == diagonalParity || second == diagonalParity;
        int x = first == diagonalParity ? second : first; // the erased column inside the diagonal code, or −1
        int y = hasDiagonal ? -1 : second;

        nint* sources = stackalloc nint[ParityGeometry.MaxDataColumns + 2];
        int maxSteps = 2 * g.RowsPerColumn;
        ChainStep* chainA = stackalloc ChainStep[maxSteps];
        ChainStep* chainB = stackalloc ChainStep[maxSteps];
        int lastA = -1, lastB = -1;
        if (x >= 0 && y >= 0)
        {
            int rdpX = RdpLayout.ToRdpColumn(g, x);
            int rdpY = RdpLayout.ToRdpColumn(g, y);
            int countA = BuildChain(g, rdpX, rdpY, chainA, maxSteps);
            int countB = BuildChain(g, rdpY, rdpX, chainB, maxSteps);
            if (countA + countB != maxSteps)
            {
                throw new InvalidOperationException($"RDP chains covered {countA + countB} of {maxSteps} lost blocks; {g} is not a valid code.");
            }

            lastA = LastNeeded(chainA, countA, target, rowFrom, rowTo);
            lastB = LastNeeded(chainB, countB, target, rowFrom, rowTo);
        }

        int tile = stripe.TileWidth;
        for (int start = windowStart; start < windowEnd; start += tile)
        {
            int length = Math.Min(tile, windowEnd - start);
            if (x < 0)
            {
                // Only diagonal parity lost: recompute the wanted diagonals.
                for (int d = target < 0 ? 0 : rowFrom; d <= (target < 0 ? g.RowsPerColumn - 1 : rowTo); d++)
                {
                    RebuildDiagonalParity(stripe, d, start, length, sources);
                }
            }
            else if (y >= 0)
            {
                for (int i = 0; i <= lastA; i++)
                {
                    Execute(stripe, chainA[i], start, length, sources);
                }

                for (int i = 0; i <= lastB; i++)
                {
                    Execute(stripe, chainB[i], start, length, sources);
                }
            }
            else if (target == diagonalParity)
            {
                // x and diagonal parity lost, only some diagonal-parity blocks wanted: rebuild just x's
                // blocks on those diagonals from their rows, then the diagonals.
                int rdpX = RdpLayout.ToRdpColumn(g, x);
                for (int d = rowFrom; d <= rowTo; d++)
                {
                    int row = RdpLayout.RowOnDiagonal(g, rdpX, d);
                    if (row != g.Prime - 1)
                    {
                        Execute(stripe, new ChainStep(-1, row, x), start, length, sources);
                    }

                    RebuildDiagonalParity(stripe, d, start, length, sources);
                }
            }
            else
            {
                // x lost (alone or with diagonal parity): rows rebuild it.
                bool all = target < 0;
                for (int row = all ? 0 : rowFrom; row <= (all ? g.RowsPerColumn - 1 : rowTo); row++)
                {
                    Execute(stripe, new ChainStep(-1, row, x), start, length, sources);
                }

                if (hasDiagonal && all)
                {
                    for (int d = 0; d < g.RowsPerColumn; d++)
                    {
                        RebuildDiagonalParity(stripe, d, start, length, sources);
                    }
                }
            }
        }
    }

    /// <summary>Walks from the diagonal that misses <paramref name="rdpX"/> until the unstored diagonal p − 1.</summary>
    private static int BuildChain(ParityGeometry g, int rdpX, int rdpY, ChainStep* steps, int capacity)
    {
        int p = g.Prime;
        int x = RdpLayout.FromRdpColumn(g, rdpX);
        int y = RdpLayout.FromRdpColumn(g, rdpY);
        int count = 0;
        int diagonal = RdpLayout.DiagonalMissing(g, rdpX);
        while (diagonal != p - 1)
        {
            if (count + 2 > capacity)
            {
                throw new InvalidOperationException($"RDP chain did not terminate for {g}.");
            }

            int row = RdpLayout.RowOnDiagonal(g, rdpY, diagonal);
            steps[count++] = new ChainStep(diagonal, row, y); // y's block: the only one missing on this diagonal
            steps[count++] = new ChainStep(-1, row, x);       // x's block: the only one left missing in that row
            diagonal = RdpLayout.DiagonalOf(g, rdpX, row);
        }

        return count;
    }

    private static int LastNeeded(ChainStep* steps, int count, int target, int rowFrom, int rowTo)
    {
        if (target < 0)
        {
            return count - 1;
        }

        int last = -1;
        for (int i = 0; i < count; i++)
        {
            if (steps[i].Column == target && steps[i].Row >= rowFrom && steps[i].Row <= rowTo)
            {
                last = i;
            }
        }

        return last;
    }

    private static void Execute(in StripeView stripe, ChainStep step, int start, int length, nint* sources)
    {
        int skip = RdpLayout.ToRdpColumn(stripe.Geometry, step.Column);
        int count = step.UsesRow
            ? stripe.RowSources(step.Row, skip, sources)
            : stripe.DiagonalSources(step.Diagonal, skip, withParity: true, sources);
        ParityKernels.Gather(stripe.Path, sources, count, start, (byte*)(stripe.Block(step.Column, step.Row) + start), length);
    }

    private static void RebuildDiagonalParity(in StripeView stripe, int diagonal, int start, int length, nint* sources)
    {
        int count = stripe.DiagonalSources(diagonal, -1, withParity: false, sources);
        ParityKernels.Gather(stripe.Path, sources, count, start, (byte*)(stripe.Block(stripe.Geometry.DiagonalParityColumn, diagonal) + start), length);
    }
}
