using FsCheck;
using FsCheck.Fluent;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Tests;

/// <summary>A random stripe shape plus the seed of its contents, the kernel path and tile width (0 = default) to run.</summary>
internal sealed record StripeCase(int K, int Prime, int BlockSize, int Seed, SimdPath Path, int TileBytes = 0)
{
    public static readonly SimdPath[] AllPaths = [SimdPath.Scalar, SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512];

    public ParityGeometry Geometry => new(K, Prime, BlockSize);

    public ParityCodec Codec => new(Geometry, Path, TileBytes);

    /// <summary>k in 2..24, p the smallest prime ≥ k+1 or the next one, blocks of 64..512 bytes.</summary>
    public static Gen<StripeCase> Gen(int maxK = 24, int maxBlocks = 8) =>
        from k in FsCheck.Fluent.Gen.Choose(2, maxK)
        from nextPrime in FsCheck.Fluent.Gen.Elements(false, false, true)
        from blocks in FsCheck.Fluent.Gen.Choose(1, maxBlocks)
        from seed in FsCheck.Fluent.Gen.Choose(0, int.MaxValue)
        from path in FsCheck.Fluent.Gen.Elements(AllPaths)
        from tile in FsCheck.Fluent.Gen.Elements(0, 0, 64, 128, 192)
        let p = ParityGeometry.SmallestPrimeAtLeast(nextPrime ? ParityGeometry.SmallestPrimeAtLeast(k + 1) + 1 : k + 1)
        select new StripeCase(k, p, blocks * 64, seed, path, tile);

    public static Arbitrary<StripeCase> Arbitrary(int maxK = 24, int maxBlocks = 8) => Gen(maxK, maxBlocks).ToArbitrary();

    /// <summary>A stripe buffer with random data columns and zeroed parity columns.</summary>
    public byte[] RandomStripe()
    {
        ParityGeometry g = Geometry;
        var stripe = new byte[g.StripeSize];
        new Random(Seed).NextBytes(stripe.AsSpan(0, g.DataSize));
        return stripe;
    }

    public override string ToString() => $"k={K} p={Prime} block={BlockSize} seed={Seed} path={Path} tile={TileBytes}";
}
