namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.39 REQUEST SENSE. iSCSI delivers autosense with every CHECK CONDITION, so the only
/// pending sense is a unit attention: it is returned as parameter data and cleared (SAM-5 5.14).
/// DESC selects the format.
/// </summary>
internal static class RequestSense
{
    public static readonly CommandDescriptor Command = new(0x03, -1, "REQUEST SENSE",
        [0x03, 0x01, 0x00, 0x00, 0xFF, 0x00], ExecuteAsync,
        CommandFlags.IgnoresUnitAttention | CommandFlags.AllowedUnderReservation);

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        ushort ascAscq = Asc.NoAdditionalSenseInformation;
        var key = SenseKey.NoSense;
        string nexus = task.Nexus.Key;
        if (state.TryPeekUnitAttention(nexus, out _))
        {
            var ua = await lu.Context.ChangeAsync(s => LuStateChanges.Dequeue(s, nexus)).ConfigureAwait(false);
            if (ua is { } u)
            {
                key = SenseKey.UnitAttention;
                ascAscq = (ushort)(u.Asc << 8 | u.Ascq);
            }
        }
        Return(task, key, ascAscq);
    }

    /// <summary>SPC-5 6.39: to a LUN that does not exist, LOGICAL UNIT NOT SUPPORTED as parameter data.</summary>
    public static void ExecuteNoLogicalUnit(ScsiTask task, LuState state) =>
        Return(task, SenseKey.IllegalRequest, Asc.LogicalUnitNotSupported);

    private static void Return(ScsiTask task, SenseKey key, ushort ascAscq)
    {
        var cdb = task.Cdb;
        bool desc = (cdb[1] & 0x01) != 0;
        Span<byte> data = stackalloc byte[32];
        int n = SenseData.Write(data, desc, key, ascAscq);
        task.ReturnData(data[..n], cdb[4]);
    }
}
