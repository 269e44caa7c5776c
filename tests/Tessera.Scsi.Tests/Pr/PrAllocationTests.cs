namespace Tessera.Scsi.Tests;

/// <summary>
/// Under a persistent reservation every command goes through the conflict check; that check must not
/// allocate either (registration matching works on spans of the cached nexus names).
/// </summary>
public class PrAllocationTests
{
    [Theory]
    [InlineData(0x28, false)] // holder reads
    [InlineData(0x2A, false)] // holder writes
    [InlineData(0x28, true)]  // registrant reads under Write Exclusive - Registrants Only
    [InlineData(0x2A, true)]  // registrant writes
    public void ConflictCheckAllocatesNothingPerCommand(byte opcode, bool registrant)
    {
        var h = new Harness(blocks: 4096);
        // Registrations that do not match come first, so the scan parses their keys too.
        h.Attach(Pr.NexusC);
        h.Attach(Pr.NexusAPort2);
        h.RegisterKey(Pr.NexusC, 0xC, allTgPt: true);
        h.RegisterKey(Pr.NexusAPort2, 0xD);
        h.RegisterKey(Harness.NexusA, 0xA);
        h.RegisterKey(Harness.NexusB, 0xB);
        h.ReserveAs(Harness.NexusA, 0xA, Pr.WERO);
        var nexus = registrant ? Harness.NexusB : Harness.NexusA;
        bool write = opcode == 0x2A;
        var task = Harness.NewTask(nexus, Cdb.Block(opcode, 8, 8), dataIn: write ? 0 : 4096, dataOut: write ? new byte[4096] : null);

        for (int i = 0; i < 2000; i++) Execute(h.Target, task);
        Assert.Equal(ScsiStatus.Good, task.Status);
        Assert.False(h.Context.Current.IsQuiet);

        const int Commands = 10_000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Commands; i++) Execute(h.Target, task);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ScsiStatus.Good, task.Status);
        Assert.Equal(0, allocated / Commands);
    }

    [Fact]
    public void ConflictsAllocateNothingEither()
    {
        var h = new Harness(blocks: 4096);
        h.RegisterKey(Harness.NexusA, 0xA);
        h.ReserveAs(Harness.NexusA, 0xA, Pr.EA);
        var task = Harness.NewTask(Harness.NexusB, Cdb.Block(0x28, 8, 8), dataIn: 4096);
        for (int i = 0; i < 2000; i++) Execute(h.Target, task);
        Assert.Equal(ScsiStatus.ReservationConflict, task.Status);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) Execute(h.Target, task);
        Assert.Equal(0, (GC.GetAllocatedBytesForCurrentThread() - before) / 10_000);
    }

    private static void Execute(ScsiTarget target, ScsiTask task)
    {
        var pending = target.ExecuteAsync(task);
        if (!pending.IsCompletedSuccessfully) throw new InvalidOperationException("expected synchronous completion");
    }
}
