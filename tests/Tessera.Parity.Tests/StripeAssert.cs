namespace Tessera.Parity.Tests;

internal static class StripeAssert
{
    public static Span<byte> Column(byte[] stripe, ParityGeometry g, int column) =>
        stripe.AsSpan(column * g.ColumnSize, g.ColumnSize);

    /// <summary>Byte-compares two stripes and names the first differing column, row and offset.</summary>
    public static void Equal(byte[] expected, byte[] actual, ParityGeometry g, string context)
    {
        int at = expected.AsSpan().CommonPrefixLength(actual);
        if (at < expected.Length || expected.Length != actual.Length)
        {
            int column = at / g.ColumnSize;
            int row = at % g.ColumnSize / g.BlockSize;
            Assert.Fail($"{context}: stripes differ at byte {at} (column {column}, row {row}, offset {at % g.BlockSize}) for {g}");
        }
    }

    /// <summary>Fills a column with a pattern so a test can tell whether the codec wrote it.</summary>
    public static void Poison(byte[] stripe, ParityGeometry g, int column) => Column(stripe, g, column).Fill(0xA5);
}
