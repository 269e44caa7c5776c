namespace Tessera.Storage.Tests;

public class SizeParserTests
{
    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("4096B", 4096L)]
    [InlineData("512KiB", 512L * 1024)]
    [InlineData("512MiB", 512L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("1gib", 1L << 30)]
    [InlineData("10G", 10L << 30)]
    [InlineData("10 G", 10L << 30)]
    [InlineData("2T", 2L << 40)]
    [InlineData("1TiB", 1L << 40)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("5MB", 5_000_000L)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData(" 64M ", 64L << 20)]
    public void ParsesBinaryAndDecimalUnits(string text, long expected)
    {
        Assert.Equal(expected, SizeParser.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("GiB")]
    [InlineData("-1G")]
    [InlineData("+1G")]
    [InlineData("1e9")]
    [InlineData("1,000")]
    [InlineData("1XiB")]
    [InlineData("1.2.3G")]
    [InlineData("0x10")]
    public void RejectsJunkNamingTheText(string text)
    {
        var ex = Assert.Throws<FormatException>(() => SizeParser.Parse(text));
        Assert.Contains($"'{text}'", ex.Message);
    }

    [Theory]
    [InlineData("0", "greater than zero")]
    [InlineData("0GiB", "greater than zero")]
    [InlineData("1.5B", "whole number of bytes")]
    [InlineData("99999999999999P", "too large")]
    public void RejectsOutOfRangeValuesWithReason(string text, string reason)
    {
        Assert.False(SizeParser.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error);
        Assert.Contains($"'{text}'", error);
    }

    [Theory]
    [InlineData(1L << 30, "1GiB")]
    [InlineData(1536L << 20, "1536MiB")]
    [InlineData(4095L, "4095B")]
    [InlineData(512L, "512B")]
    public void FormatsWithTheLargestExactBinaryUnit(long bytes, string expected)
    {
        Assert.Equal(expected, SizeParser.Format(bytes));
        Assert.Equal(bytes, SizeParser.Parse(expected));
    }
}
