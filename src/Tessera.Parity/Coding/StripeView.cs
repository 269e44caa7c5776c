using Tessera.Parity.Layout;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Coding;

/// <summary>
/// A pinned stripe as the engine sees it: the base address of each of the k + 2 columns (codec
/// numbering) plus the kernel path. Builds the source lists of the parity equations; an equation's
/// sources are block base addresses, the kernels add the tile offset.
/// </summary>
internal readonly unsafe ref struct StripeView
{
    public StripeView(ParityGeometry geometry, SimdPath path, nint* columns, int tileBytes = 0)
    {
        Geometry = geometry;
        Path = path;
        Columns = columns;
        TileWidth = tileBytes > 0 ? Math.Min(tileBytes, geometry.BlockSize) : DefaultTileWidth(geometry);
    }

    public ParityGeometry Geometry { get; }

    public SimdPath Path { get; }

    public nint* Columns { get; }

    /// <summary>Address of block (column, row) in codec numbering.</summary>
    public nint Block(int column, int row) => Columns[column] + (nint)row * Geometry.BlockSize;

    /// <summary>
    /// Sources of row equation <paramref name="row"/> (data blocks and the row-parity block XOR to zero),
    /// leaving out RDP column <paramref name="skipRdp"/> (−1 keeps all).
    /// </summary>
    public int RowSources(int row, int skipRdp, nint* sources)
    {
        ParityGeometry g = Geometry;
        nint offset = (nint)row * g.BlockSize;
        int count = 0;
        for (int c = 0; c < g.DataColumns; c++)
        {
            if (c != skipRdp)
            {
                sources[count++] = Columns[c] + offset;
            }
        }

        if (skipRdp != g.Prime - 1)
        {
            sources[count++] = Columns[g.RowParityColumn] + offset;
        }

        return count;
    }

    /// <summary>
    /// Sources of diagonal <paramref name="diagonal"/>: its data and row-parity blocks (minus RDP
    /// column <paramref name="skipRdp"/>), plus the stored diagonal-parity block when asked.
    /// </summary>
    public int DiagonalSources(int diagonal, int skipRdp, bool withParity, nint* sources)
    {
        ParityGeometry g = Geometry;
        int p = g.Prime;
        nint blockSize = g.BlockSize;
        int count = 0;
        int row = diagonal; // row of RDP column 0 on this diagonal; decreases by one per column
        for (int c = 0; c < g.DataColumns; c++, row--)
        {
            if (row < 0)
            {
                row += p;
            }

            if (row != p - 1 && c != skipRdp)
            {
                sources[count++] = Columns[c] + row * blockSize;
            }
        }

        int parityRow = RdpLayout.RowOnDiagonal(g, p - 1, diagonal);
        if (parityRow != p - 1 && skipRdp != p - 1)
        {
            sources[count++] = Columns[g.RowParityColumn] + parityRow * blockSize;
        }

        if (withParity)
        {
            sources[count++] = Columns[g.DiagonalParityColumn] + diagonal * blockSize;
        }

        return count;
    }

    /// <summary>Bytes of each block processed per pass (see <see cref="ParityTuning"/>).</summary>
    public int TileWidth { get; }

    /// <summary>
    /// Whole blocks unless the stripe would overflow L3; then tiles whose second read (row pass,
    /// then diagonal pass) still hits cache, not memory.
    /// </summary>
    public static int DefaultTileWidth(ParityGeometry g)
    {
        int perBlock = ParityTuning.TileWorkingSetBytes / (g.ColumnCount * g.RowsPerColumn);
        perBlock = Math.Max(ParityTuning.MinTileBytes, perBlock / ParityGeometry.BlockAlignment * ParityGeometry.BlockAlignment);
        return Math.Min(perBlock, g.BlockSize);
    }
}
