namespace Tessera.Parity.Layout;

/// <summary>
/// The RDP incidence structure (Corbett et al., FAST 2004, §3). In RDP numbering the data columns
/// are 0..p−2 (those ≥ k are all-zero and never stored) and the row-parity column is p−1; block
/// (row r, column j) lies on diagonal (r + j) mod p. Diagonal parity holds diagonals 0..p−2.
/// Diagonal p−1 is not stored: its parity is implied, because the XOR of every diagonal over data
/// and row parity is zero, so diagonal p−1's sum equals the XOR of the whole diagonal-parity column.
/// </summary>
internal static class RdpLayout
{
    /// <summary>Codec column → RDP column; −1 for the diagonal-parity column, which is outside the diagonal code.</summary>
    public static int ToRdpColumn(ParityGeometry geometry, int column) =>
        column < geometry.DataColumns ? column
        : column == geometry.RowParityColumn ? geometry.Prime - 1
        : -1;

    /// <summary>RDP column → codec column; −1 for the virtual all-zero columns k..p−2.</summary>
    public static int FromRdpColumn(ParityGeometry geometry, int rdpColumn) =>
        rdpColumn < geometry.DataColumns ? rdpColumn
        : rdpColumn == geometry.Prime - 1 ? geometry.RowParityColumn
        : -1;

    public static int DiagonalOf(ParityGeometry geometry, int rdpColumn, int row) => (row + rdpColumn) % geometry.Prime;

    /// <summary>Row where an RDP column meets a diagonal; p−1 means the column has no block on it.</summary>
    public static int RowOnDiagonal(ParityGeometry geometry, int rdpColumn, int diagonal)
    {
        int row = diagonal - rdpColumn;
        return row < 0 ? row + geometry.Prime : row;
    }

    /// <summary>The one diagonal an RDP column has no block on: the one its non-existent row p−1 would lie on, (column − 1) mod p.</summary>
    public static int DiagonalMissing(ParityGeometry geometry, int rdpColumn) =>
        (rdpColumn + geometry.Prime - 1) % geometry.Prime;

    /// <summary>Members of row set <paramref name="row"/>: the data blocks of the row. Parity block: (k, row).</summary>
    public static int RowSet(ParityGeometry geometry, int row, Span<BlockAddress> members)
    {
        for (int c = 0; c < geometry.DataColumns; c++)
        {
            members[c] = new BlockAddress(c, row);
        }

        return geometry.DataColumns;
    }

    /// <summary>
    /// Members of diagonal set <paramref name="diagonal"/> (0..p−1): data and row-parity blocks on it.
    /// Parity block: (k+1, diagonal) for diagonal &lt; p−1; implied by the whole diagonal-parity column for p−1.
    /// </summary>
    public static int DiagonalSet(ParityGeometry geometry, int diagonal, Span<BlockAddress> members)
    {
        int count = 0;
        for (int c = 0; c <= geometry.DataColumns; c++)
        {
            int rdp = ToRdpColumn(geometry, c);
            int row = RowOnDiagonal(geometry, rdp, diagonal);
            if (row != geometry.Prime - 1)
            {
                members[count++] = new BlockAddress(c, row);
            }
        }

        return count;
    }
}
