namespace Tessera.Parity.Tests;

/// <summary>Bad geometry and wrong buffer sizes fail fast, naming the parameter and what was expected.</summary>
public sealed class ArgumentTests
{
    private static readonly ParityGeometry Geometry = new(4, 5, 128); // column 512 B, stripe 3072 B
    private static readonly ParityCodec Codec = new(Geometry);

    [Theory]
    [InlineData(1, 5, 64, "dataColumns", "2 to 30")]
    [InlineData(31, 37, 64, "dataColumns", "2 to 30")]
    [InlineData(4, 4, 64, "prime", "smallest valid is 5")]
    [InlineData(4, 9, 64, "prime", "prime")]
    [InlineData(6, 5, 64, "prime", "7 <= p")]
    [InlineData(4, 263, 64, "prime", "<= 257")]
    [InlineData(4, 5, 100, "blockSize", "multiple of 64")]
    [InlineData(4, 5, 0, "blockSize", "multiple of 64")]
    public void BadGeometryNamesTheParameter(int k, int p, int blockSize, string parameter, string expected)
    {
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => new ParityGeometry(k, p, blockSize));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4, 64 * 1024, 5, 16384)]
    [InlineData(8, 64 * 1024, 17, 4096)]
    [InlineData(16, 1024 * 1024, 17, 65536)]
    [InlineData(2, 128, 3, 64)]
    [InlineData(30, 30 * 64, 31, 64)]
    public void ForColumnSizePicksTheSmallestPrimeThatSplitsTheColumn(int k, int columnSize, int prime, int blockSize)
    {
        ParityGeometry g = ParityGeometry.ForColumnSize(k, columnSize);
        Assert.Equal((prime, blockSize, columnSize), (g.Prime, g.BlockSize, g.ColumnSize));
    }

    [Fact]
    public void ForColumnSizeRejectsAColumnNoPrimeSplits()
    {
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => ParityGeometry.ForColumnSize(4, 1000));
        Assert.Equal("columnSize", e.ParamName);
        Assert.Contains("multiple of 256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeRejectsWrongSizes()
    {
        AssertThrows("data", "2048 bytes", () => Codec.Encode(new byte[2047], new byte[512], new byte[512]));
        AssertThrows("rowParity", "512 bytes", () => Codec.Encode(new byte[2048], new byte[511], new byte[512]));
        AssertThrows("diagonalParity", "512 bytes", () => Codec.Encode(new byte[2048], new byte[512], new byte[1024]));
        AssertThrows("stripe", "3072 bytes", () => Codec.Encode(new byte[3000]));
    }

    [Fact]
    public void ReconstructRejectsBadColumnsAndSizes()
    {
        AssertThrows("stripe", "3072 bytes", () => Codec.Reconstruct(new byte[2048], 0));
        AssertThrows("erasedColumn", "0..5", () => Codec.Reconstruct(new byte[3072], 6));
        AssertThrows("firstErased", "0..5", () => Codec.Reconstruct(new byte[3072], -1, 2));
        AssertThrows("secondErased", "0..5", () => Codec.Reconstruct(new byte[3072], 1, 9));
        AssertThrows("secondErased", "two different columns", () => Codec.Reconstruct(new byte[3072], 2, 2));
        AssertThrows("column", "erased columns", () => Codec.ReconstructRange(new byte[3072], 1, 2, 3, 0, 10));
        AssertThrows("offset", "0..511", () => Codec.ReconstructRange(new byte[3072], 1, -1, 1, 512, 1));
        AssertThrows("length", "1..12", () => Codec.ReconstructRange(new byte[3072], 1, -1, 1, 500, 13));
    }

    [Fact]
    public void UpdatesRejectBadRangesAndSizes()
    {
        AssertThrows("column", "data column in 0..3", () => Codec.UpdateParity(4, 0, new byte[4], new byte[4], new byte[512], new byte[512]));
        AssertThrows("newData", "4 bytes", () => Codec.UpdateParity(0, 0, new byte[4], new byte[5], new byte[512], new byte[512]));
        AssertThrows("length", "1..2", () => Codec.UpdateParity(0, 510, new byte[4], new byte[4], new byte[512], new byte[512]));
        AssertThrows("diagonalParity", "512 bytes", () => Codec.UpdateParity(0, 0, new byte[4], new byte[4], new byte[512], new byte[64]));
        AssertThrows("delta", "4 bytes", () => Codec.ComputeUpdate(0, 0, new byte[4], new byte[4], new byte[3], new ParityPatch[3]));
        AssertThrows("patches", "at least 6 patches", () => Codec.ComputeUpdate(0, 126, new byte[4], new byte[4], new byte[4], new ParityPatch[3]));
        AssertThrows("parityColumn", "4 or 5", () => Codec.ApplyUpdate(new byte[4], [], 3, new byte[512]));
        AssertThrows("patches", "outside", () => Codec.ApplyUpdate(new byte[4], [new ParityPatch(4, 510, 0, 4)], 4, new byte[512]));
    }

    [Fact]
    public void VerificationRejectsWrongChecksumTables()
    {
        AssertThrows("checksums", "24 entries", () => Codec.ComputeBlockChecksums(new byte[3072], new uint[23]));
        AssertThrows("checksums", "24 entries", () => Codec.VerifyAndRepair(new byte[3072], new uint[25]));
        AssertThrows("stripe", "3072 bytes", () => Codec.IsConsistent(new byte[3071]));
    }

    private static void AssertThrows(string parameter, string expected, Action act)
    {
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
