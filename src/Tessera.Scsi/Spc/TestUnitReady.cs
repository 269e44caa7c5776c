namespace Tessera.Scsi;

/// <summary>SPC-5 6.47 TEST UNIT READY: the LU is always ready once unit attentions are reported.</summary>
internal static class TestUnitReady
{
    public static readonly CommandDescriptor Command = new(0x00, -1, "TEST UNIT READY",
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x00], Execute);

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state) => ValueTask.CompletedTask;
}
