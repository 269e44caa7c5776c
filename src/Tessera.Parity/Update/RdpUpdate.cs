using Tessera.Parity.Layout;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Update;

/// <summary>
/// Small-write parity math. A change δ to data block (row i, column c) changes, byte for byte:
/// the row-parity block R[i]; the diagonal-parity block of diagonal (i + c) mod p, unless that is
/// the unstored diagonal p − 1; and, because R[i] itself lies on diagonal (i − 1) mod p, the
/// diagonal-parity block of diagonal i − 1 when i ≥ 1. All three receive the same δ at the same
/// in-block offset, so the cost is independent of k.
/// </summary>
internal static unsafe class RdpUpdate
{
    /// <summary>The parity ranges one row segment of a write touches; returns how many (1 to 3).</summary>
    public static int Targets(ParityGeometry g, int column, int row, out int diagonalOfData, out int diagonalOfRowParity)
    {
        int count = 1;
        diagonalOfData = RdpLayout.DiagonalOf(g, column, row);
        if (diagonalOfData == g.Prime - 1)
        {
            diagonalOfData = -1;
        }
        else
        {
            count++;
        }

        diagonalOfRowParity = RdpLayout.DiagonalOf(g, g.Prime - 1, row);
        if (diagonalOfRowParity == g.Prime - 1)
        {
            diagonalOfRowParity = -1;
        }
        else
        {
            count++;
        }

        return count;
    }

    /// <summary>Folds old ⊕ new of a data range straight into the two parity columns.</summary>
    public static void Apply(ParityGeometry g, SimdPath path, int column, int offset, byte* oldData, byte* newData, int length, byte* rowParity, byte* diagonalParity)
    {
        nint* targets = stackalloc nint[3];
        int blockSize = g.BlockSize;
        int done = 0;
        while (done < length)
        {
            int position = offset + done;
            int row = position / blockSize;
            int inBlock = position % blockSize;
            int segment = Math.Min(length - done, blockSize - inBlock);
            Targets(g, column, row, out int dData, out int dRow);
            int n = 0;
            targets[n++] = (nint)(rowParity + position);
            if (dData >= 0)
            {
                targets[n++] = (nint)(diagonalParity + ((nint)dData * blockSize) + inBlock);
            }

            if (dRow >= 0)
            {
                targets[n++] = (nint)(diagonalParity + ((nint)dRow * blockSize) + inBlock);
            }

            ParityKernels.XorDeltaInto(path, oldData + done, newData + done, targets, n, segment);
            done += segment;
        }
    }

    /// <summary>Describes the same changes as patches over a delta buffer; returns the patch count.</summary>
    public static int Describe(ParityGeometry g, int column, int offset, int length, Span<ParityPatch> patches)
    {
        int blockSize = g.BlockSize;
        int count = 0;
        int done = 0;
        while (done < length)
        {
            int position = offset + done;
            int row = position / blockSize;
            int inBlock = position % blockSize;
            int segment = Math.Min(length - done, blockSize - inBlock);
            Targets(g, column, row, out int dData, out int dRow);
            patches[count++] = new ParityPatch(g.RowParityColumn, position, done, segment);
            if (dData >= 0)
            {
                patches[count++] = new ParityPatch(g.DiagonalParityColumn, (dData * blockSize) + inBlock, done, segment);
            }

            if (dRow >= 0)
            {
                patches[count++] = new ParityPatch(g.DiagonalParityColumn, (dRow * blockSize) + inBlock, done, segment);
            }

            done += segment;
        }

        return count;
    }
}
