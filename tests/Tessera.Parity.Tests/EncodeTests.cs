using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Tests;

public sealed class EncodeTests
{
    [Property(MaxTest = 200)]
    public Property FastEncoderAgreesWithReference() =>
        Prop.ForAll(StripeCase.Arbitrary(), c =>
        {
            ParityGeometry g = c.Geometry;
            byte[] stripe = c.RandomStripe();
            c.Codec.Encode(stripe);
            AssertMatchesReference(g, stripe, c.ToString());
        });

    [Theory]
    [InlineData("Scalar")]
    [InlineData("Vector128")]
    [InlineData("Vector256")]
    [InlineData("Vector512")]
    public void EveryPathAgreesWithReferenceAcrossShapes(string pathName)
    {
        SimdPath path = Enum.Parse<SimdPath>(pathName);
        // Block sizes chosen to exercise the 4-lane loop, the single-lane loop and several tiles.
        (int K, int P, int Block)[] shapes = [(2, 3, 64), (4, 5, 192), (5, 7, 320), (8, 11, 4096), (16, 17, 1024), (30, 31, 128), (3, 13, 64)];
        foreach ((int k, int p, int block) in shapes)
        {
            foreach (int tile in new[] { 0, 64, 192 })
            {
                var c = new StripeCase(k, p, block, Seed: k * 31 + p, path, tile);
                byte[] stripe = c.RandomStripe();
                c.Codec.Encode(stripe);
                AssertMatchesReference(c.Geometry, stripe, c.ToString());
            }
        }
    }

    [Fact]
    public void SeparateBufferOverloadMatchesStripeOverload()
    {
        var c = new StripeCase(6, 7, 256, Seed: 7, ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] stripe = c.RandomStripe();
        c.Codec.Encode(stripe);

        var row = new byte[g.ColumnSize];
        var diagonal = new byte[g.ColumnSize];
        c.Codec.Encode(stripe.AsSpan(0, g.DataSize), row, diagonal);

        Assert.True(row.AsSpan().SequenceEqual(StripeAssert.Column(stripe, g, g.RowParityColumn)));
        Assert.True(diagonal.AsSpan().SequenceEqual(StripeAssert.Column(stripe, g, g.DiagonalParityColumn)));
    }

    [Fact]
    public void EncodeLeavesDataColumnsUntouched()
    {
        var c = new StripeCase(8, 11, 128, Seed: 3, ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] stripe = c.RandomStripe();
        byte[] before = stripe[..g.DataSize];
        c.Codec.Encode(stripe);
        Assert.True(before.AsSpan().SequenceEqual(stripe.AsSpan(0, g.DataSize)));
    }

    internal static void AssertMatchesReference(ParityGeometry g, byte[] stripe, string context)
    {
        byte[][] data = new byte[g.DataColumns][];
        for (int j = 0; j < g.DataColumns; j++)
        {
            data[j] = StripeAssert.Column(stripe, g, j).ToArray();
        }

        (byte[] row, byte[] diagonal) = ReferenceRdp.Encode(g.DataColumns, g.Prime, g.BlockSize, data);
        Assert.True(row.AsSpan().SequenceEqual(StripeAssert.Column(stripe, g, g.RowParityColumn)), $"row parity differs: {context}");
        Assert.True(diagonal.AsSpan().SequenceEqual(StripeAssert.Column(stripe, g, g.DiagonalParityColumn)), $"diagonal parity differs: {context}");
    }
}
