using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Tests;

public sealed class UpdateTests
{
    [Property(MaxTest = 200)]
    public Property RandomUpdatesAppliedInRandomOrderEqualAFullReencode() =>
        Prop.ForAll(StripeCase.Arbitrary(maxBlocks: 6), c =>
        {
            ParityGeometry g = c.Geometry;
            ParityCodec codec = c.Codec;
            var random = new Random(c.Seed ^ 0x5EED);
            byte[] stripe = c.RandomStripe();
            codec.Encode(stripe);
            byte[] direct = (byte[])stripe.Clone();       // parity kept current with UpdateParity, write by write
            byte[] shipped = (byte[])stripe.Clone();      // parity patched later from deltas, in shuffled order
            var updates = new List<(byte[] Delta, ParityPatch[] Patches)>();

            int writes = random.Next(1, 16);
            for (int w = 0; w < writes; w++)
            {
                int column = random.Next(g.DataColumns);
                int offset = random.Next(g.ColumnSize);
                int length = random.Next(1, Math.Min(g.ColumnSize - offset, 3 * g.BlockSize) + 1);
                if (random.Next(4) == 0)
                {
                    // Overlap an earlier write now and then: deltas of the same bytes must still commute.
                    offset = Math.Max(0, offset - g.BlockSize);
                }

                int at = (column * g.ColumnSize) + offset;
                byte[] old = stripe.AsSpan(at, length).ToArray();
                byte[] fresh = new byte[length];
                random.NextBytes(fresh);

                codec.UpdateParity(column, offset, old, fresh,
                    StripeAssert.Column(direct, g, g.RowParityColumn), StripeAssert.Column(direct, g, g.DiagonalParityColumn));

                var delta = new byte[length];
                var patches = new ParityPatch[g.MaxUpdatePatches(offset, length)];
                int count = codec.ComputeUpdate(column, offset, old, fresh, delta, patches);
                updates.Add((delta, patches[..count]));

                fresh.CopyTo(stripe, at);
            }

            // Shuffle, and let each parity "node" apply the patches meant for its own column.
            foreach ((byte[] delta, ParityPatch[] patches) in updates.OrderBy(_ => random.Next()))
            {
                codec.ApplyUpdate(delta, patches, g.RowParityColumn, StripeAssert.Column(shipped, g, g.RowParityColumn));
            }

            foreach ((byte[] delta, ParityPatch[] patches) in updates.OrderBy(_ => random.Next()))
            {
                codec.ApplyUpdate(delta, patches, g.DiagonalParityColumn, StripeAssert.Column(shipped, g, g.DiagonalParityColumn));
            }

            byte[] expected = (byte[])stripe.Clone();
            codec.Encode(expected);
            stripe.AsSpan(0, g.DataSize).CopyTo(direct);
            stripe.AsSpan(0, g.DataSize).CopyTo(shipped);
            StripeAssert.Equal(expected, direct, g, $"{c} UpdateParity");
            StripeAssert.Equal(expected, shipped, g, $"{c} ComputeUpdate/ApplyUpdate");
        });

    [Theory]
    [InlineData("Scalar")]
    [InlineData("Vector128")]
    [InlineData("Vector256")]
    [InlineData("Vector512")]
    public void OneChangedByteMovesExactlyTheParityOfItsTwoSetsAndOfItsRowParityBlock(string pathName)
    {
        var c = new StripeCase(6, 7, 64, Seed: 9, Enum.Parse<SimdPath>(pathName));
        ParityGeometry g = c.Geometry;
        int p = g.Prime;
        for (int column = 0; column < g.DataColumns; column++)
        {
            for (int row = 0; row < g.RowsPerColumn; row++)
            {
                byte[] before = c.RandomStripe();
                c.Codec.Encode(before);
                byte[] after = (byte[])before.Clone();
                int at = (column * g.ColumnSize) + (row * g.BlockSize) + 5;
                after[at] ^= 0x40;
                c.Codec.Encode(after);

                var expected = new HashSet<int> { (g.RowParityColumn * g.ColumnSize) + (row * g.BlockSize) + 5 };
                int dataDiagonal = (row + column) % p;
                if (dataDiagonal != p - 1)
                {
                    expected.Add((g.DiagonalParityColumn * g.ColumnSize) + (dataDiagonal * g.BlockSize) + 5);
                }

                if (row >= 1)
                {
                    expected.Add((g.DiagonalParityColumn * g.ColumnSize) + ((row - 1) * g.BlockSize) + 5);
                }

                var changed = new HashSet<int>();
                for (int i = g.DataSize; i < before.Length; i++)
                {
                    if (before[i] != after[i])
                    {
                        changed.Add(i);
                    }
                }

                Assert.Equal(expected.Order(), changed.Order());

                var delta = new byte[1];
                var patches = new ParityPatch[3];
                int count = c.Codec.ComputeUpdate(column, (row * g.BlockSize) + 5, [before[at]], [after[at]], delta, patches);
                Assert.Equal(expected.Count, count);
                Assert.Equal(expected.Order(), patches[..count].Select(x => (x.Column * g.ColumnSize) + x.ParityOffset).Order());
            }
        }
    }

    [Fact]
    public void PatchesAreBoundedByMaxUpdatePatches()
    {
        var g = new ParityGeometry(5, 7, 128);
        var codec = new ParityCodec(g);
        for (int offset = 0; offset < g.ColumnSize; offset += 37)
        {
            int length = Math.Min(g.ColumnSize - offset, 300);
            var patches = new ParityPatch[g.MaxUpdatePatches(offset, length)];
            int count = codec.ComputeUpdate(2, offset, new byte[length], new byte[length], new byte[length], patches);
            Assert.InRange(count, 1, patches.Length);
            Assert.Equal(length, patches[..count].Where(x => x.Column == g.RowParityColumn).Sum(x => x.Length));
        }
    }
}
