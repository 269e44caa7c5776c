namespace Tessera.Parity;

/// <summary>
/// Shape of one Row-Diagonal Parity stripe (Corbett et al., FAST 2004): <see cref="DataColumns"/>
/// data columns plus a row-parity and a diagonal-parity column, each column cut into
/// <see cref="Prime"/> − 1 blocks of <see cref="BlockSize"/> bytes. Columns are numbered
/// 0..k−1 for data, k for row parity and k+1 for diagonal parity.
/// </summary>
public sealed class ParityGeometry
{
    public const int MinDataColumns = 2;
    public const int MaxDataColumns = 30;

    /// <summary>Largest prime accepted; bounds the per-call stack tables (2(p−1) recovery steps).</summary>
    public const int MaxPrime = 257;

    /// <summary>Block sizes are multiples of this so every SIMD width covers a block with whole registers.</summary>
    public const int BlockAlignment = 64;

    public ParityGeometry(int dataColumns, int prime, int blockSize)
    {
        if (dataColumns is < MinDataColumns or > MaxDataColumns)
        {
            throw new ArgumentOutOfRangeException(nameof(dataColumns), dataColumns,
                $"Expected {MinDataColumns} to {MaxDataColumns} data columns.");
        }

        if (prime < dataColumns + 1 || prime > MaxPrime || !IsPrime(prime))
        {
            throw new ArgumentOutOfRangeException(nameof(prime), prime,
                $"Expected a prime p with {dataColumns + 1} <= p <= {MaxPrime} (RDP needs p >= k + 1); smallest valid is {SmallestPrimeAtLeast(dataColumns + 1)}.");
        }

        if (blockSize <= 0 || blockSize % BlockAlignment != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize,
                $"Expected a positive multiple of {BlockAlignment} bytes.");
        }

        long stripe = (long)(dataColumns + 2) * (prime - 1) * blockSize;
        if (stripe > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize,
                $"Stripe of {stripe} bytes exceeds the {Array.MaxLength}-byte span limit.");
        }

        DataColumns = dataColumns;
        Prime = prime;
        BlockSize = blockSize;
    }

    /// <summary>k: number of data columns.</summary>
    public int DataColumns { get; }

    /// <summary>p: the RDP prime; there are p − 1 blocks per column and p diagonals (p − 1 stored).</summary>
    public int Prime { get; }

    public int BlockSize { get; }

    public int RowsPerColumn => Prime - 1;

    public int ColumnSize => RowsPerColumn * BlockSize;

    /// <summary>k + 2: data columns plus both parity columns.</summary>
    public int ColumnCount => DataColumns + 2;

    public int RowParityColumn => DataColumns;

    public int DiagonalParityColumn => DataColumns + 1;

    /// <summary>Bytes of user data in a stripe: k columns.</summary>
    public int DataSize => DataColumns * ColumnSize;

    /// <summary>Bytes of a whole stripe laid out column after column: (k + 2) columns.</summary>
    public int StripeSize => ColumnCount * ColumnSize;

    /// <summary>Entries in a per-block checksum table: one per block, indexed column * rows + row.</summary>
    public int BlockCount => ColumnCount * RowsPerColumn;

    /// <summary>
    /// Geometry for columns of <paramref name="columnSize"/> bytes: the smallest prime p ≥ k + 1
    /// such that the column splits into p − 1 blocks that are multiples of 64 bytes.
    /// </summary>
    public static ParityGeometry ForColumnSize(int dataColumns, int columnSize)
    {
        if (dataColumns is < MinDataColumns or > MaxDataColumns)
        {
            throw new ArgumentOutOfRangeException(nameof(dataColumns), dataColumns,
                $"Expected {MinDataColumns} to {MaxDataColumns} data columns.");
        }

        for (int p = SmallestPrimeAtLeast(dataColumns + 1); p <= MaxPrime; p = SmallestPrimeAtLeast(p + 1))
        {
            long unit = (long)(p - 1) * BlockAlignment;
            if (columnSize > 0 && columnSize % unit == 0)
            {
                return new ParityGeometry(dataColumns, p, (int)(columnSize / (p - 1)));
            }
        }

        throw new ArgumentOutOfRangeException(nameof(columnSize), columnSize,
            $"Expected a column size that is a positive multiple of (p - 1) * {BlockAlignment} bytes for some prime p in {dataColumns + 1}..{MaxPrime}; e.g. a multiple of {(SmallestPrimeAtLeast(dataColumns + 1) - 1) * BlockAlignment}.");
    }

    /// <summary>Patch entries <see cref="ParityCodec.ComputeUpdate"/> may produce for a range: three per row touched.</summary>
    public int MaxUpdatePatches(int offset, int length)
    {
        if (length <= 0)
        {
            return 0;
        }

        int firstRow = offset / BlockSize;
        int lastRow = (offset + length - 1) / BlockSize;
        return 3 * (lastRow - firstRow + 1);
    }

    public override string ToString() =>
        $"RDP k={DataColumns} p={Prime} block={BlockSize} B column={ColumnSize} B";

    internal static bool IsPrime(int n)
    {
        if (n < 2)
        {
            return false;
        }

        for (int d = 2; d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    internal static int SmallestPrimeAtLeast(int n)
    {
        while (!IsPrime(n))
        {
            n++;
        }

        return n;
    }
}
