using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Tessera.Parity.Simd;

// The four lane widths. Vector512<T> operations also work where AVX-512 is absent (the JIT
// lowers them to two 256-bit halves or software), which is what lets tests force every path.

internal readonly unsafe struct Lane512(Vector512<byte> value) : IXorLane<Lane512>
{
    private readonly Vector512<byte> _value = value;

    public static int Size => 64;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512 Load(byte* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* destination, Lane512 value) => value._value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512 Xor(Lane512 left, Lane512 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512 Or(Lane512 left, Lane512 right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZero(Lane512 value) => value._value == Vector512<byte>.Zero;
}

internal readonly unsafe struct Lane256(Vector256<byte> value) : IXorLane<Lane256>
{
    private readonly Vector256<byte> _value = value;

    public static int Size => 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256 Load(byte* source) => new(Vector256.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* destination, Lane256 value) => value._value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256 Xor(Lane256 left, Lane256 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256 Or(Lane256 left, Lane256 right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZero(Lane256 value) => value._value == Vector256<byte>.Zero;
}

internal readonly unsafe struct Lane128(Vector128<byte> value) : IXorLane<Lane128>
{
    private readonly Vector128<byte> _value = value;

    public static int Size => 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128 Load(byte* source) => new(Vector128.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* destination, Lane128 value) => value._value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128 Xor(Lane128 left, Lane128 right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128 Or(Lane128 left, Lane128 right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZero(Lane128 value) => value._value == Vector128<byte>.Zero;
}

internal readonly unsafe struct LaneScalar(ulong value) : IXorLane<LaneScalar>
{
    private readonly ulong _value = value;

    public static int Size => sizeof(ulong);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneScalar Load(byte* source) => new(Unsafe.ReadUnaligned<ulong>(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(byte* destination, LaneScalar value) => Unsafe.WriteUnaligned(destination, value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneScalar Xor(LaneScalar left, LaneScalar right) => new(left._value ^ right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneScalar Or(LaneScalar left, LaneScalar right) => new(left._value | right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZero(LaneScalar value) => value._value == 0;
}
