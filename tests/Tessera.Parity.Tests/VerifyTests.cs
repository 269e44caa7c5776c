using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Hashing;

namespace Tessera.Parity.Tests;

public sealed class VerifyTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("123456789", 0xE3069283u)] // the CRC-32C check value
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void Crc32CMatchesKnownValues(string text, uint expected) =>
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void Crc32COf32ZeroBytesMatchesRfc3720Vector() =>
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32])); // RFC 3720 B.4

    [Property(MaxTest = 150)]
    public Property AnySingleFlippedBitMakesTheStripeInconsistent() =>
        Prop.ForAll(StripeCase.Arbitrary(maxK: 12, maxBlocks: 4), c =>
        {
            byte[] stripe = c.RandomStripe();
            c.Codec.Encode(stripe);
            Assert.True(c.Codec.IsConsistent(stripe), $"fresh stripe reported inconsistent: {c}");
            var random = new Random(c.Seed);
            int at = random.Next(stripe.Length);
            stripe[at] ^= (byte)(1 << random.Next(8));
            Assert.False(c.Codec.IsConsistent(stripe), $"flip at {at} not detected: {c}");
        });

    [Property(MaxTest = 150)]
    public Property ChecksumsNameUpToTwoBadColumnsAndRepairThem() =>
        Prop.ForAll(StripeCase.Arbitrary(maxK: 12, maxBlocks: 4), c =>
        {
            ParityGeometry g = c.Geometry;
            byte[] original = c.RandomStripe();
            c.Codec.Encode(original);
            var checksums = new uint[g.BlockCount];
            c.Codec.ComputeBlockChecksums(original, checksums);
            var random = new Random(c.Seed);

            byte[] stripe = (byte[])original.Clone();
            Assert.Equal(new StripeRepairResult(StripeHealth.Consistent, 0, -1, -1), c.Codec.VerifyAndRepair(stripe, checksums));

            int badCount = random.Next(1, 4);
            int[] bad = Enumerable.Range(0, g.ColumnCount).OrderBy(_ => random.Next()).Take(badCount).Order().ToArray();
            foreach (int column in bad)
            {
                // Silent corruption of one block of the column.
                int at = (column * g.ColumnSize) + (random.Next(g.RowsPerColumn) * g.BlockSize) + random.Next(g.BlockSize);
                stripe[at] ^= (byte)random.Next(1, 256);
            }

            StripeRepairResult result = c.Codec.VerifyAndRepair(stripe, checksums);
            Assert.Equal(badCount, result.BadColumnCount);
            Assert.Equal(bad[0], result.FirstBadColumn);
            Assert.Equal(bad[1..].FirstOrDefault(-1), result.SecondBadColumn);
            if (badCount <= 2)
            {
                Assert.Equal(StripeHealth.Repaired, result.Health);
                StripeAssert.Equal(original, stripe, g, $"{c} repair of {string.Join(",", bad)}");
            }
            else
            {
                Assert.Equal(StripeHealth.Unrepairable, result.Health);
            }
        });

    [Fact]
    public void DamageTheChecksumsCannotSeeIsReportedInconsistent()
    {
        var c = new StripeCase(4, 5, 128, Seed: 2, Simd.ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] stripe = c.RandomStripe();
        c.Codec.Encode(stripe);
        stripe[3 * g.ColumnSize + 17] ^= 1;
        var checksums = new uint[g.BlockCount];
        c.Codec.ComputeBlockChecksums(stripe, checksums); // checksums taken after the damage

        Assert.Equal(StripeHealth.Inconsistent, c.Codec.VerifyAndRepair(stripe, checksums).Health);
    }

    [Fact]
    public void ComputeBlockChecksumsIndexesColumnMajor()
    {
        var c = new StripeCase(3, 5, 64, Seed: 4, Simd.ParityKernels.Best);
        ParityGeometry g = c.Geometry;
        byte[] stripe = c.RandomStripe();
        var checksums = new uint[g.BlockCount];
        c.Codec.ComputeBlockChecksums(stripe, checksums);
        int column = 2, row = 3;
        Assert.Equal(Crc32C.Compute(stripe.AsSpan((column * g.ColumnSize) + (row * g.BlockSize), g.BlockSize)), checksums[(column * g.RowsPerColumn) + row]);
    }
}
