namespace Tessera.Scsi.Tests;

/// <summary>The I/O path allocates nothing per command once warm (house rule for hot paths).</summary>
public class AllocationTests
{
    [Theory]
    [InlineData(0x28)]
    [InlineData(0x2A)]
    [InlineData(0x88)]
    [InlineData(0x8A)]
    public void ReadAndWriteAllocateNothingPerCommand(byte opcode)
    {
        var h = new Harness(blocks: 4096);
        bool write = (opcode & 0x02) != 0;
        var task = Harness.NewTask(Harness.NexusA, Cdb.Block(opcode, 8, 8, byte1: write ? (byte)0x08 : (byte)0), dataIn: write ? 0 : 4096, dataOut: write ? new byte[4096] : null);
        var target = h.Target;

        // Warm-up past tiered JIT promotion.
        for (int i = 0; i < 2000; i++) Execute(target, task);
        Assert.Equal(ScsiStatus.Good, task.Status);

        const int Commands = 10_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Commands; i++) Execute(target, task);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ScsiStatus.Good, task.Status);
        // Zero bytes per command. The smallest object is 24 bytes, so one allocation per command would
        // show as ≥ 240 000 here; the division only forgives a one-off runtime allocation
        // (e.g. tiering) that can land on this thread during the loop.
        Assert.Equal(0, allocated / Commands);
    }

    private static void Execute(ScsiTarget target, ScsiTask task)
    {
        var pending = target.ExecuteAsync(task);
        if (!pending.IsCompletedSuccessfully) throw new InvalidOperationException("expected synchronous completion");
    }
}
