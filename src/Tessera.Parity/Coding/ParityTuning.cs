namespace Tessera.Parity.Coding;

/// <summary>Cache-blocking constants, measured with bench/Tessera.Bench (see bench/README.md).</summary>
internal static class ParityTuning
{
    /// <summary>Bytes of stripe touched per tile; well inside a 512 KiB–1 MiB L2 with room for prefetch.</summary>
    public static int TileWorkingSetBytes = 256 * 1024;

    /// <summary>Floor on the tile width so per-block loop overhead stays small for wide stripes.</summary>
    public static int MinTileBytes = 256;
}
