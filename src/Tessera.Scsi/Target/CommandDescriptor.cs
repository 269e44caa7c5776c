namespace Tessera.Scsi;

/// <summary>Executes one command on a logical unit with the context snapshot taken at dispatch.</summary>
internal delegate ValueTask CommandHandler(LogicalUnit lu, ScsiTask task, LuState state);

[Flags]
internal enum CommandFlags
{
    None = 0,
    /// <summary>INQUIRY, REPORT LUNS, REQUEST SENSE: neither report nor clear unit attentions (SAM-5 5.14).</summary>
    IgnoresUnitAttention = 1,
    /// <summary>Allowed while another I_T nexus holds a SCSI-2 reservation (SPC-2 5.5.1).</summary>
    AllowedUnderReservation = 2,
    /// <summary>Modifies the medium (write protection; later persistent reservation classes).</summary>
    WritesMedium = 4,
}

/// <summary>
/// One supported command: its operation code (and service action), the CDB usage map of SPC-5
/// 6.34.3 (bit set = bit the device server looks at), its handler and how it interacts with unit
/// attentions and reservations. The usage map doubles as the reserved-bit check and later feeds
/// REPORT SUPPORTED OPERATION CODES.
/// </summary>
internal sealed class CommandDescriptor(byte opcode, int serviceAction, string name, byte[] cdbUsage, CommandHandler handler, CommandFlags flags = CommandFlags.None)
{
    public byte Opcode { get; } = opcode;

    /// <summary>Service action (byte 1 bits 4-0) or -1 when the opcode has none.</summary>
    public int ServiceAction { get; } = serviceAction;

    public string Name { get; } = name;

    /// <summary>CDB USAGE DATA: byte 0 is the opcode, then for each byte the bits that may be set.</summary>
    public byte[] CdbUsage { get; } = cdbUsage;

    public int CdbLength => CdbUsage.Length;

    public CommandHandler Handler { get; } = handler;

    public CommandFlags Flags { get; } = flags;

    public bool IgnoresUnitAttention => (Flags & CommandFlags.IgnoresUnitAttention) != 0;

    public bool AllowedUnderReservation => (Flags & CommandFlags.AllowedUnderReservation) != 0;

    /// <summary>
    /// Finds the first CDB byte with a bit outside the usage map (reserved, unsupported or obsolete
    /// bits); returns its index and highest offending bit, or -1. SPC-5 4.2.2: such bits make the
    /// command fail with INVALID FIELD IN CDB.
    /// </summary>
    public int FindInvalidField(ReadOnlySpan<byte> cdb, out int bit)
    {
        var usage = CdbUsage;
        if (cdb.Length < usage.Length)
        {
            bit = -1;
            return cdb.Length; // CDB shorter than the command: the first missing byte
        }
        for (int i = 1; i < usage.Length; i++)
        {
            int bad = cdb[i] & ~usage[i];
            if (bad != 0)
            {
                bit = TaskResults.HighestBit(bad);
                return i;
            }
        }
        bit = -1;
        return -1;
    }
}
