using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Tessera.Parity;
using Tessera.Parity.Simd;

namespace Tessera.Bench.Parity;

/// <summary>The same encode and double rebuild on each forced kernel width (k = 8, 64 KiB columns).</summary>
[Config(typeof(ParityBenchConfig))]
public unsafe class ParityKernelPathBenchmarks
{
    private ParityCodec _codec = null!;
    private byte* _stripe;
    private int _stripeSize;

    [Params("Vector512", "Vector256", "Vector128", "Scalar")]
    public string Path { get; set; } = "Vector512";

    [Params(8)]
    public int K { get; set; }

    [Params(64)]
    public int ColumnKiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ParityGeometry geometry = ParityGeometry.ForColumnSize(K, ColumnKiB * 1024);
        _codec = new ParityCodec(geometry, Enum.Parse<SimdPath>(Path));
        _stripeSize = geometry.StripeSize;
        _stripe = (byte*)NativeMemory.AlignedAlloc((nuint)_stripeSize, 64);
        new Random(42).NextBytes(new Span<byte>(_stripe, _stripeSize));
        _codec.Encode(new Span<byte>(_stripe, _stripeSize));
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.AlignedFree(_stripe);

    [Benchmark(Description = "RDP encode")]
    public void Encode() => _codec.Encode(new Span<byte>(_stripe, _stripeSize));

    [Benchmark(Description = "RDP rebuild 2 data cols")]
    public void Reconstruct2() => _codec.Reconstruct(new Span<byte>(_stripe, _stripeSize), 0, 1);
}
