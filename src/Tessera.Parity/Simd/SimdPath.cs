namespace Tessera.Parity.Simd;

/// <summary>Width of the XOR kernels a codec runs on.</summary>
internal enum SimdPath
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}
