namespace Tessera.Parity.Tests;

/// <summary>
/// The RDP construction written as plainly as possible, byte by byte, straight from the paper's
/// definition and sharing no code with the codec: the oracle the fast paths are checked against.
/// </summary>
internal static class ReferenceRdp
{
    /// <summary>Returns (rowParity, diagonalParity) for k data columns of (p − 1) × blockSize bytes.</summary>
    public static (byte[] Row, byte[] Diagonal) Encode(int k, int p, int blockSize, byte[][] data)
    {
        int rows = p - 1;
        var row = new byte[rows * blockSize];
        var diagonal = new byte[rows * blockSize];

        // Row parity: XOR of the data blocks of each row.
        for (int i = 0; i < rows; i++)
        {
            for (int b = 0; b < blockSize; b++)
            {
                byte x = 0;
                for (int j = 0; j < k; j++)
                {
                    x ^= data[j][(i * blockSize) + b];
                }

                row[(i * blockSize) + b] = x;
            }
        }

        // Diagonal parity over the p columns 0..p−1: data (zero beyond k) and row parity at p−1.
        for (int d = 0; d < rows; d++)
        {
            for (int b = 0; b < blockSize; b++)
            {
                byte x = 0;
                for (int j = 0; j < p; j++)
                {
                    int i = ((d - j) % p + p) % p;
                    if (i == p - 1)
                    {
                        continue;
                    }

                    byte cell = j < k ? data[j][(i * blockSize) + b]
                        : j == p - 1 ? row[(i * blockSize) + b]
                        : (byte)0;
                    x ^= cell;
                }

                diagonal[(d * blockSize) + b] = x;
            }
        }

        return (row, diagonal);
    }
}
