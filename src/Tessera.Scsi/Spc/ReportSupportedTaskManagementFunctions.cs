using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.36 REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (MAINTENANCE IN, service action 0Dh): the
/// functions <see cref="TaskManagement"/> implements — ABORT TASK, ABORT TASK SET, CLEAR TASK SET,
/// LOGICAL UNIT RESET. CLEAR ACA is not (NormACA = 0); QUERY TASK / QUERY TASK SET / QUERY ASYNCHRONOUS
/// EVENT / I_T NEXUS RESET have no iSCSI function code. TARGET RESET is obsolete in SAM-5 (iSCSI's
/// target warm/cold resets are target-wide, not logical-unit functions) and stays unreported.
/// </summary>
internal static class ReportSupportedTaskManagementFunctions
{
    // Byte 2: REPD (7).
    public static readonly CommandDescriptor Command = new(0xA3, 0x0D, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
        [0xA3, 0x1F, 0x80, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], Execute,
        CommandFlags.AllowedUnderReservation);

    private const byte Ats = 0x80, Atss = 0x40, Ctss = 0x10, Lurs = 0x08;

    /// <summary>
    /// TMF timeouts in 100 ms units (SPC-5 Table 301). ABORT TASK waits for one command at most; the
    /// set-wide functions wait for every running command of the LU, so they get the long timeout.
    /// </summary>
    internal const uint ShortTimeout = 100, LongTimeout = 300;

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool repd = (cdb[2] & 0x80) != 0;
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        // SPC-5 6.36: an allocation length below four is an error, not a truncation.
        if (allocation < 4) { task.InvalidFieldInCdb(state, 6); return ValueTask.CompletedTask; }
        Span<byte> d = stackalloc byte[16];
        d.Clear();
        d[0] = Ats | Atss | Ctss | Lurs;
        if (!repd)
        {
            task.ReturnData(d[..4], (int)Math.Min(allocation, int.MaxValue));
            return ValueTask.CompletedTask;
        }
        d[3] = 0x0C;        // ADDITIONAL DATA LENGTH
        d[4] = 0x01;        // TMFTMOV: the timeouts below are valid
        d[6] = 0x80;        // ATTS: ABORT TASK uses the short timeout; the others the long one
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], LongTimeout);
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], ShortTimeout);
        task.ReturnData(d, (int)Math.Min(allocation, int.MaxValue));
        return ValueTask.CompletedTask;
    }
}
