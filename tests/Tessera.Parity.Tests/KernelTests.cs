using System.Runtime.Intrinsics;
using Tessera.Parity.Simd;

namespace Tessera.Parity.Tests;

/// <summary>Each kernel width against a plain loop, on lengths that hit every tail case.</summary>
public sealed unsafe class KernelTests
{
    private static readonly int[] Lengths = [0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 200, 255, 256, 257, 511, 512, 1000];

    [Fact]
    public void BestPathFollowsTheHardware()
    {
        SimdPath expected = Vector512.IsHardwareAccelerated ? SimdPath.Vector512
            : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
            : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
            : SimdPath.Scalar;
        Assert.Equal(expected, ParityKernels.Best);
        Assert.Equal(expected, new ParityCodec(new ParityGeometry(2, 3, 64)).Path);
    }

    [Theory]
    [InlineData("Scalar")]
    [InlineData("Vector128")]
    [InlineData("Vector256")]
    [InlineData("Vector512")] // Vector512<T> runs in software where AVX-512 is missing, so this path is always testable
    public void KernelsMatchPlainLoops(string pathName)
    {
        SimdPath path = Enum.Parse<SimdPath>(pathName);
        var random = new Random(17);
        nint* table = stackalloc nint[6];
        nint* closed = stackalloc nint[6];
        nint* targetTable = stackalloc nint[3];
        foreach (int length in Lengths)
        {
            for (int count = 1; count <= 5; count++)
            {
                byte[][] sources = Enumerable.Range(0, count).Select(_ => RandomBytes(random, length + 3)).ToArray();
                var expected = new byte[length];
                for (int i = 0; i < length; i++)
                {
                    foreach (byte[] s in sources)
                    {
                        expected[i] ^= s[i + 3];
                    }
                }

                var actual = new byte[length + 1];
                actual[length] = 0x77; // guard byte: kernels must not write past length
                var handles = sources.Select(s => System.Runtime.InteropServices.GCHandle.Alloc(s, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
                try
                {
                    for (int j = 0; j < count; j++)
                    {
                        table[j] = handles[j].AddrOfPinnedObject();
                    }

                    fixed (byte* d = actual)
                    {
                        ParityKernels.Gather(path, table, count, 3, d, length);
                        Assert.True(expected.AsSpan().SequenceEqual(actual.AsSpan(0, length)), $"Gather {path} n={count} len={length}");
                        Assert.Equal(0x77, actual[length]);
                        Assert.Equal(expected.All(b => b == 0), ParityKernels.SumIsZero(path, table, count, 3, length));

                        // Appending the XOR itself as a source makes the sum zero.
                        for (int j = 0; j < count; j++)
                        {
                            closed[j] = table[j] + 3;
                        }

                        closed[count] = (nint)d;
                        Assert.True(ParityKernels.SumIsZero(path, closed, count + 1, 0, length));
                        if (length > 0)
                        {
                            d[length - 1] ^= 0x10;
                            Assert.False(ParityKernels.SumIsZero(path, closed, count + 1, 0, length), $"SumIsZero missed last byte {path} len={length}");
                        }
                    }
                }
                finally
                {
                    foreach (var h in handles)
                    {
                        h.Free();
                    }
                }
            }

            byte[] left = RandomBytes(random, length), right = RandomBytes(random, length);
            byte[][] targets = [RandomBytes(random, length + 1), RandomBytes(random, length + 1), RandomBytes(random, length + 1)];
            byte[][] expectedTargets = targets.Select(t => (byte[])t.Clone()).ToArray();
            foreach (byte[] t in expectedTargets)
            {
                for (int i = 0; i < length; i++)
                {
                    t[i] ^= (byte)(left[i] ^ right[i]);
                }
            }

            fixed (byte* l = left, r = right, t0 = targets[0], t1 = targets[1], t2 = targets[2])
            {
                targetTable[0] = (nint)t0;
                targetTable[1] = (nint)t1;
                targetTable[2] = (nint)t2;
                ParityKernels.XorDeltaInto(path, l, r, targetTable, 3, length);
            }

            for (int t = 0; t < 3; t++)
            {
                Assert.Equal(expectedTargets[t], targets[t]);
            }

            byte[] into = RandomBytes(random, length + 1);
            byte[] expectedInto = (byte[])into.Clone();
            for (int i = 0; i < length; i++)
            {
                expectedInto[i] ^= left[i];
            }

            fixed (byte* d = into, s = left)
            {
                ParityKernels.XorInto(path, d, s, length);
            }

            Assert.Equal(expectedInto, into);
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
