using System.Runtime.Intrinsics;

namespace Tessera.Parity.Simd;

/// <summary>
/// Picks the kernel width once from the hardware and routes each kernel call to the
/// specialisation for a given <see cref="SimdPath"/>. The path is a value carried by each codec
/// (not global state), so tests can run every path side by side.
/// </summary>
internal static unsafe class ParityKernels
{
    /// <summary>The widest path the hardware accelerates; chosen once at start-up.</summary>
    public static SimdPath Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512
        : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
        : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
        : SimdPath.Scalar;

    public static void Gather(SimdPath path, nint* sources, int count, nint offset, byte* destination, nint length)
    {
        switch (path)
        {
            case SimdPath.Vector512: XorKernel<Lane512>.Gather(sources, count, offset, destination, length); break;
            case SimdPath.Vector256: XorKernel<Lane256>.Gather(sources, count, offset, destination, length); break;
            case SimdPath.Vector128: XorKernel<Lane128>.Gather(sources, count, offset, destination, length); break;
            default: XorKernel<LaneScalar>.Gather(sources, count, offset, destination, length); break;
        }
    }

    public static bool SumIsZero(SimdPath path, nint* sources, int count, nint offset, nint length) => path switch
    {
        SimdPath.Vector512 => XorKernel<Lane512>.SumIsZero(sources, count, offset, length),
        SimdPath.Vector256 => XorKernel<Lane256>.SumIsZero(sources, count, offset, length),
        SimdPath.Vector128 => XorKernel<Lane128>.SumIsZero(sources, count, offset, length),
        _ => XorKernel<LaneScalar>.SumIsZero(sources, count, offset, length),
    };

    public static void XorDeltaInto(SimdPath path, byte* left, byte* right, nint* targets, int targetCount, nint length)
    {
        switch (path)
        {
            case SimdPath.Vector512: XorKernel<Lane512>.XorDeltaInto(left, right, targets, targetCount, length); break;
            case SimdPath.Vector256: XorKernel<Lane256>.XorDeltaInto(left, right, targets, targetCount, length); break;
            case SimdPath.Vector128: XorKernel<Lane128>.XorDeltaInto(left, right, targets, targetCount, length); break;
            default: XorKernel<LaneScalar>.XorDeltaInto(left, right, targets, targetCount, length); break;
        }
    }

    public static void XorInto(SimdPath path, byte* destination, byte* source, nint length)
    {
        switch (path)
        {
            case SimdPath.Vector512: XorKernel<Lane512>.XorInto(destination, source, length); break;
            case SimdPath.Vector256: XorKernel<Lane256>.XorInto(destination, source, length); break;
            case SimdPath.Vector128: XorKernel<Lane128>.XorInto(destination, source, length); break;
            default: XorKernel<LaneScalar>.XorInto(destination, source, length); break;
        }
    }
}
