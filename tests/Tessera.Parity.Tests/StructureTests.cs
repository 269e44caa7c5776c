using Tessera.Parity.Layout;

namespace Tessera.Parity.Tests;

/// <summary>The code's shape: every data block in exactly two parity sets guarded from other columns.</summary>
public sealed class StructureTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        for (int k = ParityGeometry.MinDataColumns; k <= ParityGeometry.MaxDataColumns; k++)
        {
            int p = ParityGeometry.SmallestPrimeAtLeast(k + 1);
            data.Add(k, p);
            data.Add(k, ParityGeometry.SmallestPrimeAtLeast(p + 1));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryDataBlockIsInExactlyTwoSetsWhoseParityLiesOnTwoOtherColumns(int k, int p)
    {
        var g = new ParityGeometry(k, p, 64);
        int rows = g.RowsPerColumn;
        var rowSets = new int[k, rows];
        var diagonalSets = new int[k, rows];
        var rowParityBlock = new int[k, rows];
        var diagonalParityBlock = new int[k, rows];
        Span<BlockAddress> members = stackalloc BlockAddress[k + 1];

        for (int r = 0; r < rows; r++)
        {
            int n = RdpLayout.RowSet(g, r, members);
            foreach (BlockAddress m in members[..n])
            {
                Assert.InRange(m.Column, 0, k - 1);
                rowSets[m.Column, m.Row]++;
                rowParityBlock[m.Column, m.Row] = r;
            }
        }

        for (int d = 0; d < p; d++)
        {
            int n = RdpLayout.DiagonalSet(g, d, members);
            Assert.InRange(n, k, k + 1); // each real column misses exactly one diagonal, no two the same one
            foreach (BlockAddress m in members[..n])
            {
                Assert.NotEqual(g.DiagonalParityColumn, m.Column); // the guarding column holds no member
                if (m.Column < k)
                {
                    diagonalSets[m.Column, m.Row]++;
                    diagonalParityBlock[m.Column, m.Row] = d;
                }
            }
        }

        for (int c = 0; c < k; c++)
        {
            for (int r = 0; r < rows; r++)
            {
                Assert.Equal(1, rowSets[c, r]);
                Assert.Equal(1, diagonalSets[c, r]);
                Assert.Equal(r, rowParityBlock[c, r]);
                Assert.Equal((r + c) % p, diagonalParityBlock[c, r]);
            }
        }

        // Row sets are guarded by column k, diagonal sets by column k+1: two columns, neither a data column.
        Assert.NotEqual(g.RowParityColumn, g.DiagonalParityColumn);
        Assert.True(g.RowParityColumn >= k && g.DiagonalParityColumn >= k);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EncodedStripeSatisfiesEverySetIncludingTheImpliedDiagonal(int k, int p)
    {
        var c = new StripeCase(k, p, 64, Seed: k * p, Simd.ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] stripe = c.RandomStripe();
        c.Codec.Encode(stripe);
        Span<BlockAddress> members = stackalloc BlockAddress[k + 1];

        byte[] Block(int column, int row) => stripe.AsSpan((column * g.ColumnSize) + (row * g.BlockSize), g.BlockSize).ToArray();
        static void XorInto(byte[] target, byte[] source)
        {
            for (int i = 0; i < target.Length; i++)
            {
                target[i] ^= source[i];
            }
        }

        for (int r = 0; r < g.RowsPerColumn; r++)
        {
            var sum = new byte[g.BlockSize];
            int n = RdpLayout.RowSet(g, r, members);
            foreach (BlockAddress m in members[..n])
            {
                XorInto(sum, Block(m.Column, m.Row));
            }

            Assert.Equal(Block(g.RowParityColumn, r), sum);
        }

        for (int d = 0; d < p; d++)
        {
            var sum = new byte[g.BlockSize];
            int n = RdpLayout.DiagonalSet(g, d, members);
            foreach (BlockAddress m in members[..n])
            {
                XorInto(sum, Block(m.Column, m.Row));
            }

            var parity = new byte[g.BlockSize];
            if (d < p - 1)
            {
                parity = Block(g.DiagonalParityColumn, d);
            }
            else
            {
                // Diagonal p−1 is not stored; its parity is the XOR of the whole diagonal-parity column.
                for (int r = 0; r < g.RowsPerColumn; r++)
                {
                    XorInto(parity, Block(g.DiagonalParityColumn, r));
                }
            }

            Assert.Equal(parity, sum);
        }
    }
}
