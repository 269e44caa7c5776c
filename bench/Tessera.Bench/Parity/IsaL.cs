using System.Runtime.InteropServices;

namespace Tessera.Bench.Parity;

/// <summary>
/// Intel ISA-L (Debian libisal2) entry points used as the yardstick: Reed-Solomon RS(k+2) through
/// ec_encode_data and RAID-6 P+Q through pq_gen. Benchmark project only.
/// </summary>
internal static unsafe partial class IsaL
{
    private const string Library = "libisal.so.2";

    /// <summary>Fills an m×k Cauchy encode matrix (identity on top).</summary>
    [LibraryImport(Library, EntryPoint = "gf_gen_cauchy1_matrix")]
    public static partial void GfGenCauchy1Matrix(byte* matrix, int rows, int k);

    [LibraryImport(Library, EntryPoint = "gf_invert_matrix")]
    public static partial int GfInvertMatrix(byte* input, byte* output, int n);

    /// <summary>Expands a rows×k coefficient matrix into 32-byte multiply tables per coefficient.</summary>
    [LibraryImport(Library, EntryPoint = "ec_init_tables")]
    public static partial void EcInitTables(int k, int rows, byte* matrix, byte* tables);

    [LibraryImport(Library, EntryPoint = "ec_encode_data")]
    public static partial void EcEncodeData(int length, int k, int rows, byte* tables, byte** data, byte** coding);

    /// <summary>RAID-6 P and Q over vects−2 sources; the last two pointers are P and Q.</summary>
    [LibraryImport(Library, EntryPoint = "pq_gen")]
    public static partial int PqGen(int vects, int length, void** array);
}
