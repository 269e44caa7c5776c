namespace Tessera.Parity.Tests;

/// <summary>Hot-path calls allocate nothing on the managed heap (house rule for parity).</summary>
public sealed class AllocationTests
{
    [Fact]
    public void NoCodecOperationAllocates()
    {
        var g = new ParityGeometry(8, 11, 256);
        var codec = new ParityCodec(g);
        byte[] stripe = new byte[g.StripeSize];
        new Random(3).NextBytes(stripe.AsSpan(0, g.DataSize));
        byte[] data = stripe[..g.DataSize];
        byte[] row = new byte[g.ColumnSize], diagonal = new byte[g.ColumnSize];
        byte[] old = new byte[700], fresh = new byte[700], delta = new byte[700];
        var patches = new ParityPatch[g.MaxUpdatePatches(100, 700)];
        uint[] checksums = new uint[g.BlockCount];
        Memory<byte>[] columns = Enumerable.Range(0, g.ColumnCount).Select(_ => new Memory<byte>(new byte[g.ColumnSize])).ToArray();

        void RunAll()
        {
            codec.Encode(stripe);
            codec.Encode(data, row, diagonal);
            codec.Reconstruct(stripe, 2);
            codec.Reconstruct(stripe, 1, 5);
            codec.Reconstruct(stripe, 3, g.RowParityColumn);
            codec.Reconstruct(stripe, 0, g.DiagonalParityColumn);
            codec.ReconstructRange(stripe, 1, 4, 4, 300, 900);
            codec.UpdateParity(3, 100, old, fresh, row, diagonal);
            int count = codec.ComputeUpdate(3, 100, old, fresh, delta, patches);
            codec.ApplyUpdate(delta, patches.AsSpan(0, count), g.RowParityColumn, row);
            _ = codec.IsConsistent(stripe);
            codec.ComputeBlockChecksums(stripe, checksums);
            _ = codec.VerifyAndRepair(stripe, checksums);
            codec.Encode(columns);
            codec.Reconstruct(columns, 0, 7);
            codec.ReconstructRange(columns, 2, -1, 2, 10, 100);
        }

        RunAll(); // warm: JIT and static initialisation may allocate once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            RunAll();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
