using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Tests;

public sealed class ReconstructTests
{
    [Property(MaxTest = 60)]
    public Property EverySingleAndEveryPairOfColumnsRebuildsByteIdentical() =>
        Prop.ForAll(StripeCase.Arbitrary(maxBlocks: 4), c =>
        {
            ParityGeometry g = c.Geometry;
            ParityCodec codec = c.Codec;
            byte[] original = c.RandomStripe();
            codec.Encode(original);
            byte[] work = new byte[original.Length];

            for (int a = 0; a < g.ColumnCount; a++)
            {
                original.CopyTo(work, 0);
                StripeAssert.Poison(work, g, a);
                codec.Reconstruct(work, a);
                StripeAssert.Equal(original, work, g, $"{c} erased {a}");

                for (int b = a + 1; b < g.ColumnCount; b++)
                {
                    original.CopyTo(work, 0);
                    StripeAssert.Poison(work, g, a);
                    StripeAssert.Poison(work, g, b);
                    // Either order of the pair must work.
                    if ((a + b) % 2 == 0)
                    {
                        codec.Reconstruct(work, a, b);
                    }
                    else
                    {
                        codec.Reconstruct(work, b, a);
                    }

                    StripeAssert.Equal(original, work, g, $"{c} erased {a},{b}");
                }
            }
        });

    [Property(MaxTest = 400)]
    public Property RangeReconstructionRebuildsTheRangeAndWritesNothingElseWrong() =>
        Prop.ForAll(RangeCase.Arbitrary(), r =>
        {
            ParityGeometry g = r.Stripe.Geometry;
            ParityCodec codec = r.Stripe.Codec;
            byte[] original = r.Stripe.RandomStripe();
            codec.Encode(original);
            byte[] work = (byte[])original.Clone();
            StripeAssert.Poison(work, g, r.First);
            if (r.Second >= 0)
            {
                StripeAssert.Poison(work, g, r.Second);
            }

            codec.ReconstructRange(work, r.First, r.Second, r.Target, r.Offset, r.Length);

            int start = (r.Target * g.ColumnSize) + r.Offset;
            Assert.True(original.AsSpan(start, r.Length).SequenceEqual(work.AsSpan(start, r.Length)), $"range not rebuilt: {r}");
            for (int i = 0; i < work.Length; i++)
            {
                int column = i / g.ColumnSize;
                bool erased = column == r.First || column == r.Second;
                bool ok = work[i] == original[i] || (erased && work[i] == 0xA5);
                Assert.True(ok, $"byte {i} (column {column}) holds a wrong value after range rebuild: {r}");
            }
        });

    [Fact]
    public void RangeReconstructionOfTwoErasuresWalksOnlyThePrefixItNeeds()
    {
        // k=4, p=5, columns 0 and 1 lost. Column 0 misses diagonal p−1 entirely, so one chain starts at
        // diagonal 0 (the one column 1 misses): its first step rebuilds column 0, row 0 from that diagonal alone.
        var c = new StripeCase(4, 5, 64, Seed: 11, ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] original = c.RandomStripe();
        c.Codec.Encode(original);
        byte[] work = (byte[])original.Clone();
        StripeAssert.Poison(work, g, 0);
        StripeAssert.Poison(work, g, 1);

        c.Codec.ReconstructRange(work, 0, 1, column: 0, offset: 8, length: 16);

        Assert.True(original.AsSpan(8, 16).SequenceEqual(work.AsSpan(8, 16)));
        Assert.All(StripeAssert.Column(work, g, 1).ToArray(), b => Assert.Equal(0xA5, b));
        Assert.All(work.AsSpan(g.BlockSize, g.ColumnSize - g.BlockSize).ToArray(), b => Assert.Equal(0xA5, b));
    }

    [Theory]
    [InlineData("Scalar")]
    [InlineData("Vector128")]
    [InlineData("Vector256")]
    [InlineData("Vector512")]
    public void EveryPairRebuildsOnEveryPathForAWideStripe(string pathName)
    {
        SimdPath path = Enum.Parse<SimdPath>(pathName);
        var c = new StripeCase(16, 17, 1024, Seed: 5, path, TileBytes: 320);
        ParityGeometry g = c.Geometry;
        byte[] original = c.RandomStripe();
        c.Codec.Encode(original);
        byte[] work = new byte[original.Length];
        for (int a = 0; a < g.ColumnCount; a++)
        {
            for (int b = a + 1; b < g.ColumnCount; b++)
            {
                original.CopyTo(work, 0);
                StripeAssert.Poison(work, g, a);
                StripeAssert.Poison(work, g, b);
                c.Codec.Reconstruct(work, a, b);
                StripeAssert.Equal(original, work, g, $"{c} erased {a},{b}");
            }
        }
    }

    internal sealed record RangeCase(StripeCase Stripe, int First, int Second, int Target, int Offset, int Length)
    {
        public static Arbitrary<RangeCase> Arbitrary() =>
            (from s in StripeCase.Gen(maxK: 12, maxBlocks: 4)
             let g = s.Geometry
             from first in Gen.Choose(0, g.ColumnCount - 1)
             from secondRaw in Gen.Choose(-1, g.ColumnCount - 2)
             let second = secondRaw < 0 ? -1 : (secondRaw >= first ? secondRaw + 1 : secondRaw)
             from pickSecond in Gen.Elements(false, true)
             let target = pickSecond && second >= 0 ? second : first
             from offset in Gen.Choose(0, g.ColumnSize - 1)
             from length in Gen.Choose(1, Math.Min(g.ColumnSize - offset, 3 * g.BlockSize))
             select new RangeCase(s, first, second, target, offset, length)).ToArbitrary();

        public override string ToString() => $"{Stripe} erased {First},{Second} target {Target} [{Offset}, +{Length})";
    }
}
