namespace Tessera.Conformance.Harness;

internal static class Sizes
{
    public const long MiB = 1L << 20;
    public const long GiB = 1L << 30;

    /// <summary>Formats like the CLI's <c>--size</c> expects: 1GiB, 256MiB, or plain bytes.</summary>
    public static string ToCli(long bytes) =>
        bytes % GiB == 0 ? $"{bytes / GiB}GiB" : bytes % MiB == 0 ? $"{bytes / MiB}MiB" : bytes.ToString();
}
