using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Tessera.Parity;

namespace Tessera.Bench.Parity;

/// <summary>
/// RDP codec against ISA-L on the same data buffers, single thread. GB/s column = data bytes
/// (k columns, or 4 KiB for the partial update) per second.
/// </summary>
[Config(typeof(ParityBenchConfig))]
public unsafe class ParityBenchmarks
{
    private readonly List<nint> _allocations = [];
    private ParityCodec _codec = null!;
    private byte* _stripe;
    private int _stripeSize;
    private int _columnSize;
    private byte* _old;
    private byte* _new;

    private byte* _isalParity;
    private byte* _encodeTables;
    private byte* _decodeTables;
    private byte** _data;
    private byte** _coding;
    private byte** _survivors;
    private byte** _rebuilt;
    private void** _pq;

    [Params(4, 8, 16)]
    public int K { get; set; }

    [Params(64, 1024)]
    public int ColumnKiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _columnSize = ColumnKiB * 1024;
        ParityGeometry geometry = ParityGeometry.ForColumnSize(K, _columnSize);
        _codec = new ParityCodec(geometry);
        _stripeSize = geometry.StripeSize;
        _stripe = Alloc(_stripeSize);
        new Random(42).NextBytes(new Span<byte>(_stripe, K * _columnSize));
        _codec.Encode(Stripe);
        _old = Alloc(4096);
        _new = Alloc(4096);
        new Random(1).NextBytes(new Span<byte>(_new, 4096));

        // ISA-L: same data columns, its own two parity columns.
        _isalParity = Alloc(2 * _columnSize);
        int m = K + 2;
        byte* matrix = Alloc(m * K);
        IsaL.GfGenCauchy1Matrix(matrix, m, K);
        _encodeTables = Alloc(K * 2 * 32);
        IsaL.EcInitTables(K, 2, matrix + (K * K), _encodeTables);

        // Decode tables for data columns 0 and 1 lost: invert the survivor rows, keep rows 0 and 1.
        byte* survivorRows = Alloc(K * K);
        byte* inverse = Alloc(K * K);
        for (int r = 0; r < K; r++)
        {
            int source = r + 2; // data 2..k−1, then parity rows k, k+1
            new Span<byte>(matrix + (source * K), K).CopyTo(new Span<byte>(survivorRows + (r * K), K));
        }

        if (IsaL.GfInvertMatrix(survivorRows, inverse, K) != 0)
        {
            throw new InvalidOperationException("ISA-L decode matrix is singular");
        }

        _decodeTables = Alloc(K * 2 * 32);
        IsaL.EcInitTables(K, 2, inverse, _decodeTables);

        _data = (byte**)Alloc(K * sizeof(nint));
        _survivors = (byte**)Alloc(K * sizeof(nint));
        _coding = (byte**)Alloc(2 * sizeof(nint));
        _rebuilt = (byte**)Alloc(2 * sizeof(nint));
        _pq = (void**)Alloc((K + 2) * sizeof(nint));
        for (int j = 0; j < K; j++)
        {
            _data[j] = _stripe + ((nint)j * _columnSize);
            _pq[j] = _data[j];
        }

        _coding[0] = _isalParity;
        _coding[1] = _isalParity + _columnSize;
        _pq[K] = _coding[0];
        _pq[K + 1] = _coding[1];
        for (int j = 0; j < K - 2; j++)
        {
            _survivors[j] = _data[j + 2];
        }

        _survivors[K - 2] = _coding[0];
        _survivors[K - 1] = _coding[1];
        _rebuilt[0] = Alloc(_columnSize);
        _rebuilt[1] = Alloc(_columnSize);
    }

    private Span<byte> Stripe => new(_stripe, _stripeSize);

    [Benchmark(Description = "RDP encode")]
    public void RdpEncode() => _codec.Encode(Stripe);

    [Benchmark(Description = "RDP rebuild 1 data col")]
    public void RdpReconstruct1() => _codec.Reconstruct(Stripe, 1);

    [Benchmark(Description = "RDP rebuild 2 data cols")]
    public void RdpReconstruct2() => _codec.Reconstruct(Stripe, 0, 1);

    [Benchmark(Description = "RDP rebuild data+row parity")]
    public void RdpReconstructDataAndRowParity() => _codec.Reconstruct(Stripe, 1, K);

    [Benchmark(Description = "RDP 4 KiB partial update")]
    public void RdpUpdate4K()
    {
        int offset = _columnSize / 2;
        _codec.UpdateParity(1, offset, new ReadOnlySpan<byte>(_old, 4096), new ReadOnlySpan<byte>(_new, 4096),
            new Span<byte>(_stripe + ((nint)K * _columnSize), _columnSize), new Span<byte>(_stripe + ((nint)(K + 1) * _columnSize), _columnSize));
    }

    [Benchmark(Description = "ISA-L RS(k+2) ec_encode_data")]
    public void IsalRsEncode() => IsaL.EcEncodeData(_columnSize, K, 2, _encodeTables, _data, _coding);

    [Benchmark(Description = "ISA-L RS(k+2) rebuild 2 data cols")]
    public void IsalRsReconstruct2() => IsaL.EcEncodeData(_columnSize, K, 2, _decodeTables, _survivors, _rebuilt);

    [Benchmark(Description = "ISA-L pq_gen")]
    public void IsalPqGen()
    {
        if (IsaL.PqGen(K + 2, _columnSize, _pq) != 0)
        {
            throw new InvalidOperationException("pq_gen rejected the buffers");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (nint p in _allocations)
        {
            NativeMemory.AlignedFree((void*)p);
        }

        _allocations.Clear();
    }

    private byte* Alloc(int bytes)
    {
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        _allocations.Add((nint)p);
        new Span<byte>(p, bytes).Clear();
        return p;
    }
}
