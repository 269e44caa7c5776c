namespace Tessera.Parity.Coding;

/// <summary>
/// Cache-blocking constants, measured with bench/Tessera.Bench on a 2-core Zen 4 (1 MiB L2, 32 MiB
/// L3): tiles sized for L2 (128 KiB–1 MiB working set, a few hundred bytes to a few KiB per block)
/// were up to 2× slower than whole-block passes, because hundreds of short runs defeat the hardware
/// stream prefetcher while L3 feeds long runs at well over 50 GB/s. So a stripe is tiled only when
/// it would overflow L3; otherwise each pass streams whole blocks.
/// </summary>
internal static class ParityTuning
{
    /// <summary>Bytes of stripe one tile may span: about an L3.</summary>
    public const int TileWorkingSetBytes = 32 * 1024 * 1024;

    /// <summary>Shortest contiguous run per block, long enough for the prefetcher to lock on.</summary>
    public const int MinTileBytes = 16 * 1024;
}
