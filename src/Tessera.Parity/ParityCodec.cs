using Tessera.Parity.Coding;
using Tessera.Parity.Recovery;
using Tessera.Parity.Simd;
using Tessera.Parity.Update;
using Tessera.Hashing;

namespace Tessera.Parity;

/// <summary>
/// Row-Diagonal Parity codec for one <see cref="ParityGeometry"/>. A stripe buffer is the k + 2
/// columns laid out one after another (data 0..k−1, row parity k, diagonal parity k+1), each
/// <see cref="ParityGeometry.ColumnSize"/> bytes. Methods allocate nothing and keep no mutable
/// state, so one codec serves any number of stripes on any number of threads.
/// </summary>
public sealed unsafe class ParityCodec
{
    public ParityCodec(ParityGeometry geometry)
        : this(geometry, ParityKernels.Best)
    {
    }

    /// <summary>
    /// Codec bound to one kernel width (tests and benchmarks run every path) and optionally a tile
    /// width in bytes (tests force small tiles so multi-tile loops run on small stripes).
    /// </summary>
    internal ParityCodec(ParityGeometry geometry, SimdPath path, int tileBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        Geometry = geometry;
        Path = path;
        TileBytes = tileBytes;
    }

    public ParityGeometry Geometry { get; }

    internal SimdPath Path { get; }

    /// <summary>Kernel width this codec runs (Vector512, Vector256, Vector128 or Scalar), for diagnostics.</summary>
    public string Kernel => Path.ToString();

    internal int TileBytes { get; }

    /// <summary>Computes both parity columns from the k data columns (laid out one after another).</summary>
    public void Encode(ReadOnlySpan<byte> data, Span<byte> rowParity, Span<byte> diagonalParity)
    {
        ParityGeometry g = Geometry;
        if (data.Length != g.DataSize)
        {
            ThrowLength(data.Length, g.DataSize, nameof(data), $"{g.DataColumns} data columns of {g.ColumnSize} bytes");
        }

        RequireLength(rowParity.Length, g.ColumnSize, nameof(rowParity), "one column");
        RequireLength(diagonalParity.Length, g.ColumnSize, nameof(diagonalParity), "one column");
        fixed (byte* d = data)
        fixed (byte* r = rowParity)
        fixed (byte* q = diagonalParity)
        {
            nint* columns = stackalloc nint[g.ColumnCount];
            for (int c = 0; c < g.DataColumns; c++)
            {
                columns[c] = (nint)d + ((nint)c * g.ColumnSize);
            }

            columns[g.RowParityColumn] = (nint)r;
            columns[g.DiagonalParityColumn] = (nint)q;
            RdpEncoder.Encode(new StripeView(g, Path, columns, TileBytes));
        }
    }

    /// <summary>Computes the parity columns of a whole stripe buffer in place.</summary>
    public void Encode(Span<byte> stripe)
    {
        ParityGeometry g = Geometry;
        RequireStripe(stripe.Length);
        Encode(stripe[..g.DataSize], stripe.Slice(g.RowParityColumn * g.ColumnSize, g.ColumnSize), stripe.Slice(g.DiagonalParityColumn * g.ColumnSize, g.ColumnSize));
    }

    /// <summary>Rebuilds one lost column (data or parity) into its place in the stripe; other columns are only read.</summary>
    public void Reconstruct(Span<byte> stripe, int erasedColumn)
    {
        RequireStripe(stripe.Length);
        RequireColumn(erasedColumn, nameof(erasedColumn));
        fixed (byte* s = stripe)
        {
            nint* columns = stackalloc nint[Geometry.ColumnCount];
            RdpRecovery.Reconstruct(View(s, columns), erasedColumn, -1);
        }
    }

    /// <summary>Rebuilds two lost columns (any pair, parity columns included); other columns are only read.</summary>
    public void Reconstruct(Span<byte> stripe, int firstErased, int secondErased)
    {
        RequireStripe(stripe.Length);
        RequireErasures(firstErased, secondErased);
        fixed (byte* s = stripe)
        {
            nint* columns = stackalloc nint[Geometry.ColumnCount];
            RdpRecovery.Reconstruct(View(s, columns), firstErased, secondErased);
        }
    }

    /// <summary>
    /// Degraded read: rebuilds bytes [offset, offset + length) of erased column <paramref name="column"/>
    /// with only the blocks (and in-block bytes) they depend on. <paramref name="secondErased"/> is −1
    /// when one column is lost. Other bytes of the erased columns may be written (with their correct
    /// values) along the way; surviving columns are only read.
    /// </summary>
    public void ReconstructRange(Span<byte> stripe, int firstErased, int secondErased, int column, int offset, int length)
    {
        ParityGeometry g = Geometry;
        RequireStripe(stripe.Length);
        if (secondErased == -1)
        {
            RequireColumn(firstErased, nameof(firstErased));
        }
        else
        {
            RequireErasures(firstErased, secondErased);
        }

        if (column != firstErased && column != secondErased)
        {
            throw new ArgumentException($"Expected one of the erased columns ({firstErased}, {secondErased}), got {column}.", nameof(column));
        }

        RequireRange(offset, length, g.ColumnSize);
        fixed (byte* s = stripe)
        {
            nint* columns = stackalloc nint[g.ColumnCount];
            RdpRecovery.ReconstructRange(View(s, columns), firstErased, secondErased, column, offset, length);
        }
    }

    /// <summary>
    /// Small write: folds the change from <paramref name="oldData"/> to <paramref name="newData"/> at
    /// <paramref name="offset"/> of data column <paramref name="column"/> into both parity columns,
    /// without reading any other data column.
    /// </summary>
    public void UpdateParity(int column, int offset, ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData, Span<byte> rowParity, Span<byte> diagonalParity)
    {
        ParityGeometry g = Geometry;
        RequireDataColumn(column);
        RequireLength(newData.Length, oldData.Length, nameof(newData), "the length of oldData");
        RequireRange(offset, oldData.Length, g.ColumnSize);
        RequireLength(rowParity.Length, g.ColumnSize, nameof(rowParity), "one column");
        RequireLength(diagonalParity.Length, g.ColumnSize, nameof(diagonalParity), "one column");
        fixed (byte* o = oldData)
        fixed (byte* n = newData)
        fixed (byte* r = rowParity)
        fixed (byte* q = diagonalParity)
        {
            RdpUpdate.Apply(g, Path, column, offset, o, n, oldData.Length, r, q);
        }
    }

    /// <summary>
    /// Small write, shippable form: writes δ = old ⊕ new into <paramref name="delta"/> and the parity
    /// ranges δ must be XORed into as <paramref name="patches"/> (size it with
    /// <see cref="ParityGeometry.MaxUpdatePatches"/>). Returns the number of patches written.
    /// </summary>
    public int ComputeUpdate(int column, int offset, ReadOnlySpan<byte> oldData, ReadOnlySpan<byte> newData, Span<byte> delta, Span<ParityPatch> patches)
    {
        ParityGeometry g = Geometry;
        RequireDataColumn(column);
        RequireLength(newData.Length, oldData.Length, nameof(newData), "the length of oldData");
        RequireRange(offset, oldData.Length, g.ColumnSize);
        RequireLength(delta.Length, oldData.Length, nameof(delta), "the length of oldData");
        int needed = g.MaxUpdatePatches(offset, oldData.Length);
        if (patches.Length < needed)
        {
            throw new ArgumentException($"Expected room for at least {needed} patches, got {patches.Length}.", nameof(patches));
        }

        fixed (byte* o = oldData)
        fixed (byte* n = newData)
        fixed (byte* d = delta)
        {
            nint* sources = stackalloc nint[2] { (nint)o, (nint)n };
            ParityKernels.Gather(Path, sources, 2, 0, d, oldData.Length);
        }

        return RdpUpdate.Describe(g, column, offset, oldData.Length, patches);
    }

    /// <summary>
    /// Applies the patches of one parity column (<paramref name="parityColumn"/> = k or k+1) to that
    /// column, as the node holding it does; patches for the other parity column are skipped.
    /// </summary>
    public void ApplyUpdate(ReadOnlySpan<byte> delta, ReadOnlySpan<ParityPatch> patches, int parityColumn, Span<byte> parity)
    {
        ParityGeometry g = Geometry;
        if (parityColumn != g.RowParityColumn && parityColumn != g.DiagonalParityColumn)
        {
            throw new ArgumentOutOfRangeException(nameof(parityColumn), parityColumn, $"Expected a parity column: {g.RowParityColumn} or {g.DiagonalParityColumn}.");
        }

        RequireLength(parity.Length, g.ColumnSize, nameof(parity), "one column");
        foreach (ParityPatch patch in patches)
        {
            if (patch.Column != parityColumn)
            {
                continue;
            }

            if (patch.Length < 0 || patch.ParityOffset < 0 || patch.DeltaOffset < 0
                || patch.ParityOffset > g.ColumnSize - patch.Length || patch.DeltaOffset > delta.Length - patch.Length)
            {
                throw new ArgumentException($"Patch {patch} falls outside the {g.ColumnSize}-byte column or the {delta.Length}-byte delta.", nameof(patches));
            }
        }

        fixed (byte* d = delta)
        fixed (byte* q = parity)
        {
            foreach (ParityPatch patch in patches)
            {
                if (patch.Column == parityColumn)
                {
                    ParityKernels.XorInto(Path, q + patch.ParityOffset, d + patch.DeltaOffset, patch.Length);
                }
            }
        }
    }

    /// <summary>
    /// Encode with each column in its own buffer: <paramref name="columns"/> holds the k + 2
    /// columns in codec order; the two parity columns are written, the data columns only read.
    /// </summary>
    public void Encode(ReadOnlySpan<Memory<byte>> columns)
    {
        RequireColumns(columns);
        nint* addresses = stackalloc nint[Geometry.ColumnCount];
        PinnedColumns pins = default;
        pins.Pin(columns, addresses);
        try
        {
            RdpEncoder.Encode(new StripeView(Geometry, Path, addresses, TileBytes));
        }
        finally
        {
            pins.Release(columns.Length);
        }
    }

    /// <summary>
    /// Rebuilds one or two lost columns (<paramref name="secondErased"/> = −1 for one) into their own
    /// buffers in <paramref name="columns"/>; the surviving buffers are only read.
    /// </summary>
    public void Reconstruct(ReadOnlySpan<Memory<byte>> columns, int firstErased, int secondErased)
    {
        RequireColumns(columns);
        if (secondErased == -1)
        {
            RequireColumn(firstErased, nameof(firstErased));
        }
        else
        {
            RequireErasures(firstErased, secondErased);
        }

        nint* addresses = stackalloc nint[Geometry.ColumnCount];
        PinnedColumns pins = default;
        pins.Pin(columns, addresses);
        try
        {
            RdpRecovery.Reconstruct(new StripeView(Geometry, Path, addresses, TileBytes), firstErased, secondErased);
        }
        finally
        {
            pins.Release(columns.Length);
        }
    }

    /// <summary>Degraded read over separate column buffers; see the stripe overload.</summary>
    public void ReconstructRange(ReadOnlySpan<Memory<byte>> columns, int firstErased, int secondErased, int column, int offset, int length)
    {
        RequireColumns(columns);
        if (secondErased == -1)
        {
            RequireColumn(firstErased, nameof(firstErased));
        }
        else
        {
            RequireErasures(firstErased, secondErased);
        }

        if (column != firstErased && column != secondErased)
        {
            throw new ArgumentException($"Expected one of the erased columns ({firstErased}, {secondErased}), got {column}.", nameof(column));
        }

        RequireRange(offset, length, Geometry.ColumnSize);
        nint* addresses = stackalloc nint[Geometry.ColumnCount];
        PinnedColumns pins = default;
        pins.Pin(columns, addresses);
        try
        {
            RdpRecovery.ReconstructRange(new StripeView(Geometry, Path, addresses, TileBytes), firstErased, secondErased, column, offset, length);
        }
        finally
        {
            pins.Release(columns.Length);
        }
    }

    /// <summary>True when every row and every stored diagonal of the stripe XORs to zero.</summary>
    public bool IsConsistent(ReadOnlySpan<byte> stripe)
    {
        RequireStripe(stripe.Length);
        fixed (byte* s = stripe)
        {
            nint* columns = stackalloc nint[Geometry.ColumnCount];
            return RdpEncoder.IsConsistent(View(s, columns));
        }
    }

    /// <summary>CRC-32C of every block, indexed column * rows + row (<see cref="ParityGeometry.BlockCount"/> entries).</summary>
    public void ComputeBlockChecksums(ReadOnlySpan<byte> stripe, Span<uint> checksums)
    {
        ParityGeometry g = Geometry;
        RequireStripe(stripe.Length);
        if (checksums.Length != g.BlockCount)
        {
            throw new ArgumentException($"Expected {g.BlockCount} entries (one CRC-32C per block, column * {g.RowsPerColumn} + row), got {checksums.Length}.", nameof(checksums));
        }

        for (int b = 0; b < g.BlockCount; b++)
        {
            checksums[b] = Crc32C.Compute(stripe.Slice(b * g.BlockSize, g.BlockSize));
        }
    }

    /// <summary>
    /// Scrub: finds the columns whose blocks fail their CRC-32C, rebuilds them from the others when
    /// there are at most two, and confirms the result against the checksums and the parity equations.
    /// </summary>
    public StripeRepairResult VerifyAndRepair(Span<byte> stripe, ReadOnlySpan<uint> checksums)
    {
        ParityGeometry g = Geometry;
        RequireStripe(stripe.Length);
        if (checksums.Length != g.BlockCount)
        {
            throw new ArgumentException($"Expected {g.BlockCount} entries (one CRC-32C per block, column * {g.RowsPerColumn} + row), got {checksums.Length}.", nameof(checksums));
        }

        int first = -1, second = -1, bad = 0;
        for (int c = 0; c < g.ColumnCount; c++)
        {
            if (!ColumnMatches(stripe, checksums, c))
            {
                bad++;
                if (first < 0)
                {
                    first = c;
                }
                else if (second < 0)
                {
                    second = c;
                }
            }
        }

        if (bad == 0)
        {
            return new StripeRepairResult(IsConsistent(stripe) ? StripeHealth.Consistent : StripeHealth.Inconsistent, 0, -1, -1);
        }

        if (bad > 2)
        {
            return new StripeRepairResult(StripeHealth.Unrepairable, bad, first, second);
        }

        if (second < 0)
        {
            Reconstruct(stripe, first);
        }
        else
        {
            Reconstruct(stripe, first, second);
        }

        bool repaired = ColumnMatches(stripe, checksums, first)
            && (second < 0 || ColumnMatches(stripe, checksums, second))
            && IsConsistent(stripe);
        return new StripeRepairResult(repaired ? StripeHealth.Repaired : StripeHealth.Unrepairable, bad, first, second);
    }

    private bool ColumnMatches(ReadOnlySpan<byte> stripe, ReadOnlySpan<uint> checksums, int column)
    {
        ParityGeometry g = Geometry;
        for (int row = 0; row < g.RowsPerColumn; row++)
        {
            int block = (column * g.RowsPerColumn) + row;
            if (Crc32C.Compute(stripe.Slice(block * g.BlockSize, g.BlockSize)) != checksums[block])
            {
                return false;
            }
        }

        return true;
    }

    private StripeView View(byte* stripe, nint* columns)
    {
        ParityGeometry g = Geometry;
        for (int c = 0; c < g.ColumnCount; c++)
        {
            columns[c] = (nint)stripe + ((nint)c * g.ColumnSize);
        }

        return new StripeView(g, Path, columns, TileBytes);
    }

    private void RequireColumns(ReadOnlySpan<Memory<byte>> columns)
    {
        ParityGeometry g = Geometry;
        if (columns.Length != g.ColumnCount)
        {
            throw new ArgumentException($"Expected {g.ColumnCount} column buffers (k data, row parity, diagonal parity), got {columns.Length}.", nameof(columns));
        }

        for (int c = 0; c < columns.Length; c++)
        {
            if (columns[c].Length != g.ColumnSize)
            {
                throw new ArgumentException($"Expected {g.ColumnSize} bytes in column {c}, got {columns[c].Length}.", nameof(columns));
            }
        }
    }

    private void RequireStripe(int length)
    {
        // Message built only on failure: the success path must not allocate.
        if (length != Geometry.StripeSize)
        {
            ThrowLength(length, Geometry.StripeSize, "stripe", $"{Geometry.ColumnCount} columns of {Geometry.ColumnSize} bytes");
        }
    }

    /// <summary>Length check; <paramref name="what"/> must be a constant so nothing is formatted on success.</summary>
    private static void RequireLength(int actual, int expected, string parameter, string what)
    {
        if (actual != expected)
        {
            ThrowLength(actual, expected, parameter, what);
        }
    }

    private static void ThrowLength(int actual, int expected, string parameter, string what) =>
        throw new ArgumentException($"Expected {expected} bytes ({what}), got {actual}.", parameter);

    private void RequireColumn(int column, string parameter)
    {
        if ((uint)column >= (uint)Geometry.ColumnCount)
        {
            throw new ArgumentOutOfRangeException(parameter, column, $"Expected a column in 0..{Geometry.ColumnCount - 1}.");
        }
    }

    private void RequireDataColumn(int column)
    {
        if ((uint)column >= (uint)Geometry.DataColumns)
        {
            throw new ArgumentOutOfRangeException(nameof(column), column, $"Expected a data column in 0..{Geometry.DataColumns - 1}.");
        }
    }

    private void RequireErasures(int first, int second)
    {
        RequireColumn(first, nameof(first) + "Erased");
        RequireColumn(second, nameof(second) + "Erased");
        if (first == second)
        {
            throw new ArgumentException($"Expected two different columns, got {first} twice.", "secondErased");
        }
    }

    private static void RequireRange(int offset, int length, int columnSize)
    {
        if (offset < 0 || offset >= columnSize)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Expected an offset in 0..{columnSize - 1}.");
        }

        if (length <= 0 || length > columnSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"Expected 1..{columnSize - offset} bytes from offset {offset} in a {columnSize}-byte column.");
        }
    }
}
