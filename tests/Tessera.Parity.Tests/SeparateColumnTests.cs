using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Tessera.Parity.Tests;

/// <summary>The overloads that take one buffer per column agree with the single-stripe-buffer ones.</summary>
public sealed class SeparateColumnTests
{
    [Property(MaxTest = 60)]
    public Property SeparateBuffersEncodeAndRebuildLikeOneStripe() =>
        Prop.ForAll(StripeCase.Arbitrary(maxK: 16, maxBlocks: 4), c =>
        {
            ParityGeometry g = c.Geometry;
            byte[] stripe = c.RandomStripe();
            c.Codec.Encode(stripe);
            byte[][] buffers = Enumerable.Range(0, g.ColumnCount).Select(j => j < g.DataColumns ? StripeAssert.Column(stripe, g, j).ToArray() : new byte[g.ColumnSize]).ToArray();
            Memory<byte>[] columns = buffers.Select(b => new Memory<byte>(b)).ToArray();

            c.Codec.Encode(columns);
            Assert.Equal(stripe, buffers.SelectMany(b => b).ToArray());

            var random = new Random(c.Seed);
            int a = random.Next(g.ColumnCount), b = (a + 1 + random.Next(g.ColumnCount - 1)) % g.ColumnCount;
            byte[][] survivors = buffers.Select(x => (byte[])x.Clone()).ToArray();
            buffers[a].AsSpan().Fill(0xA5);
            buffers[b].AsSpan().Fill(0xA5);
            c.Codec.Reconstruct(columns, a, b);
            Assert.Equal(stripe, buffers.SelectMany(x => x).ToArray());

            buffers[a].AsSpan().Fill(0xA5);
            c.Codec.Reconstruct(columns, a, -1);
            Assert.Equal(survivors[a], buffers[a]);

            buffers[b].AsSpan().Fill(0xA5);
            int offset = random.Next(g.ColumnSize), length = random.Next(1, g.ColumnSize - offset + 1);
            c.Codec.ReconstructRange(columns, b, -1, b, offset, length);
            Assert.True(survivors[b].AsSpan(offset, length).SequenceEqual(buffers[b].AsSpan(offset, length)));
        });

    [Fact]
    public void SeparateBuffersAreValidated()
    {
        var g = new ParityGeometry(4, 5, 64);
        var codec = new ParityCodec(g);
        Memory<byte>[] five = Enumerable.Range(0, 5).Select(_ => new Memory<byte>(new byte[g.ColumnSize])).ToArray();
        ArgumentException e = Assert.Throws<ArgumentException>(() => codec.Encode(five));
        Assert.Equal("columns", e.ParamName);
        Assert.Contains("6 column buffers", e.Message, StringComparison.Ordinal);

        Memory<byte>[] shortOne = [.. five, new Memory<byte>(new byte[g.ColumnSize - 1])];
        e = Assert.Throws<ArgumentException>(() => codec.Reconstruct(shortOne, 0, 1));
        Assert.Equal("columns", e.ParamName);
        Assert.Contains("256 bytes in column 5", e.Message, StringComparison.Ordinal);
    }
}
