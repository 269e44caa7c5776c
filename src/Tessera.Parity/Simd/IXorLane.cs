namespace Tessera.Parity.Simd;

/// <summary>
/// One register's worth of bytes for the XOR kernels. Implemented by small structs so the JIT
/// specialises <see cref="XorKernel{TLane}"/> per width with no virtual calls.
/// </summary>
internal unsafe interface IXorLane<TSelf>
    where TSelf : unmanaged, IXorLane<TSelf>
{
    static abstract int Size { get; }

    static abstract TSelf Load(byte* source);

    static abstract void Store(byte* destination, TSelf value);

    static abstract TSelf Xor(TSelf left, TSelf right);

    static abstract TSelf Or(TSelf left, TSelf right);

    static abstract bool IsZero(TSelf value);
}
