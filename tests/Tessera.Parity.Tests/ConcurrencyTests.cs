namespace Tessera.Parity.Tests;

/// <summary>One codec shared by threads working on different stripes gives the same bytes as one thread.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public void OneCodecServesConcurrentStripes()
    {
        var g = new ParityGeometry(6, 7, 512);
        var codec = new ParityCodec(g);
        byte[][] stripes = Enumerable.Range(0, 32).Select(i =>
        {
            var s = new byte[g.StripeSize];
            new Random(i).NextBytes(s.AsSpan(0, g.DataSize));
            return s;
        }).ToArray();
        byte[][] expected = stripes.Select(s =>
        {
            var copy = (byte[])s.Clone();
            codec.Encode(copy);
            return copy;
        }).ToArray();

        Parallel.For(0, stripes.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            for (int round = 0; round < 20; round++)
            {
                codec.Encode(stripes[i]);
                StripeAssert.Poison(stripes[i], g, i % g.ColumnCount);
                StripeAssert.Poison(stripes[i], g, (i + 3) % g.ColumnCount);
                codec.Reconstruct(stripes[i], i % g.ColumnCount, (i + 3) % g.ColumnCount);
            }
        });

        for (int i = 0; i < stripes.Length; i++)
        {
            StripeAssert.Equal(expected[i], stripes[i], g, $"stripe {i}");
        }
    }
}
