using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>Seeded random I/O against a distributed volume and a flat reference array.</summary>
internal static class ReferenceWorkload
{
    /// <summary>Random writes, unmaps and reads of random sizes and offsets, each through a random node's view.</summary>
    public static async Task RunAsync(ClusterFixture fixture, byte[] reference, int seed, int operations, int maxBlocks, Func<int, bool>? nodeAllowed = null)
    {
        var random = new Random(seed);
        VolumeLayout layout = fixture.Layout;
        int blockSize = layout.BlockSize;
        long blocks = layout.BlockCount;
        for (int op = 0; op < operations; op++)
        {
            int node;
            do
            {
                node = random.Next(layout.NodeCount);
            }
            while (nodeAllowed is not null && !nodeAllowed(node));

            DistributedVolume view = fixture.View(node);
            int count = 1 + random.Next(maxBlocks);
            long lba = random.NextInt64(blocks - count + 1);
            int kind = random.Next(10);
            var range = new Range((int)(lba * blockSize), (int)((lba + count) * blockSize));
            if (kind < 6)
            {
                byte[] data = new byte[count * blockSize];
                random.NextBytes(data);
                await view.WriteAsync(lba, data, random.Next(8) == 0 ? WriteFlags.Fua : WriteFlags.None);
                data.CopyTo(reference.AsSpan(range));
            }
            else if (kind < 7)
            {
                await view.UnmapAsync(lba, count);
                reference.AsSpan(range).Clear();
            }
            else
            {
                byte[] read = new byte[count * blockSize];
                await view.ReadAsync(lba, read);
                AssertEqual(reference.AsSpan(range), read, lba * blockSize, $"op {op} read {lba}+{count} via node {node}");
            }
        }
    }

    /// <summary>Reads the whole volume through <paramref name="view"/> and compares it with the reference.</summary>
    public static async Task VerifyAllAsync(DistributedVolume view, byte[] reference, string what, int blocksPerRead = 0)
    {
        int blockSize = view.BlockSize;
        int step = blocksPerRead > 0 ? blocksPerRead : (int)(view.Layout.StripeDataSize / blockSize) * 3 / 2;
        byte[] buffer = new byte[step * blockSize];
        for (long lba = 0; lba < view.BlockCount; lba += step)
        {
            int count = (int)Math.Min(step, view.BlockCount - lba);
            Memory<byte> piece = buffer.AsMemory(0, count * blockSize);
            await view.ReadAsync(lba, piece);
            AssertEqual(reference.AsSpan((int)(lba * blockSize), count * blockSize), piece.Span, lba * blockSize, what);
        }
    }

    public static void AssertEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, long baseOffset, string what)
    {
        int common = expected.CommonPrefixLength(actual);
        if (common < expected.Length)
        {
            Assert.Fail($"{what}: first difference at volume byte {baseOffset + common} (expected {expected[common]:x2}, got {actual[common]:x2})");
        }
    }
}
