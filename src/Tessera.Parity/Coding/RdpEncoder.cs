using Tessera.Parity.Simd;

namespace Tessera.Parity.Coding;

/// <summary>
/// Full-stripe parity: row parity R[i] = ⊕ data blocks of row i, then diagonal parity
/// Dg[d] = ⊕ data and row-parity blocks on diagonal d, for d = 0..p−2 (RDP §3).
/// Both passes run tile by tile so the diagonal pass re-reads data that the row pass just
/// brought into L2.
/// </summary>
internal static unsafe class RdpEncoder
{
    public static void Encode(in StripeView stripe) => EncodeWindow(stripe, 0, stripe.Geometry.BlockSize, rows: true);

    /// <summary>Recomputes only the diagonal-parity column (rows and data intact).</summary>
    public static void EncodeDiagonal(in StripeView stripe) => EncodeWindow(stripe, 0, stripe.Geometry.BlockSize, rows: false);

    private static void EncodeWindow(in StripeView stripe, int from, int to, bool rows)
    {
        ParityGeometry g = stripe.Geometry;
        nint* sources = stackalloc nint[ParityGeometry.MaxDataColumns + 2];
        int tile = stripe.TileWidth;
        int rowParity = g.RowParityColumn;
        int diagonalParity = g.DiagonalParityColumn;
        int skipRowParity = g.Prime - 1;
        for (int start = from; start < to; start += tile)
        {
            int length = Math.Min(tile, to - start);
            if (rows)
            {
                for (int row = 0; row < g.RowsPerColumn; row++)
                {
                    int count = stripe.RowSources(row, skipRowParity, sources);
                    ParityKernels.Gather(stripe.Path, sources, count, start, (byte*)(stripe.Block(rowParity, row) + start), length);
                }
            }

            for (int diagonal = 0; diagonal < g.RowsPerColumn; diagonal++)
            {
                int count = stripe.DiagonalSources(diagonal, -1, withParity: false, sources);
                ParityKernels.Gather(stripe.Path, sources, count, start, (byte*)(stripe.Block(diagonalParity, diagonal) + start), length);
            }
        }
    }

    /// <summary>True when every row and every stored diagonal XORs to zero.</summary>
    public static bool IsConsistent(in StripeView stripe)
    {
        ParityGeometry g = stripe.Geometry;
        nint* sources = stackalloc nint[ParityGeometry.MaxDataColumns + 2];
        int tile = stripe.TileWidth;
        for (int start = 0; start < g.BlockSize; start += tile)
        {
            int length = Math.Min(tile, g.BlockSize - start);
            for (int row = 0; row < g.RowsPerColumn; row++)
            {
                int count = stripe.RowSources(row, -1, sources);
                if (!ParityKernels.SumIsZero(stripe.Path, sources, count, start, length))
                {
                    return false;
                }
            }

            for (int diagonal = 0; diagonal < g.RowsPerColumn; diagonal++)
            {
                int count = stripe.DiagonalSources(diagonal, -1, withParity: true, sources);
                if (!ParityKernels.SumIsZero(stripe.Path, sources, count, start, length))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
