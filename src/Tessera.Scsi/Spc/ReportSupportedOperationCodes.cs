using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.35 REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch), answered from
/// <see cref="CommandTable"/>: every registered command, or one command with its CDB usage data
/// (the same map dispatch uses to reject reserved bits), optionally with command timeouts descriptors.
/// </summary>
internal static class ReportSupportedOperationCodes
{
    // Byte 2: RCTD (7) and REPORTING OPTIONS (2-0).
    public static readonly CommandDescriptor Command = new(0xA3, 0x0C, "REPORT SUPPORTED OPERATION CODES",
        [0xA3, 0x1F, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], Execute,
        CommandFlags.AllowedUnderReservation);

    private const int TimeoutsDescriptorLength = 12;

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool rctd = (cdb[2] & 0x80) != 0;
        int options = cdb[2] & 0x07;
        byte opcode = cdb[3];
        int serviceAction = BinaryPrimitives.ReadUInt16BigEndian(cdb[4..]);
        int allocation = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue);

        byte[] data;
        switch (options)
        {
            case 0b000:
                data = AllCommands(rctd);
                break;
            case 0b001: // one command by operation code; one that has service actions is an error
                if (HasServiceActions(opcode)) { task.InvalidFieldInCdb(state, 3); return ValueTask.CompletedTask; }
                data = OneCommand(Find(opcode, -1), -1, rctd);
                break;
            case 0b010: // operation code and service action; an opcode without service actions is an error
                if (CommandTable.Supports(opcode)) { task.InvalidFieldInCdb(state, 3); return ValueTask.CompletedTask; }
                data = OneCommand(serviceAction <= 0x1F ? Find(opcode, serviceAction) : null, serviceAction, rctd);
                break;
            case 0b011: // either: the service action counts only if the opcode has service actions
                data = HasServiceActions(opcode)
                    ? OneCommand(serviceAction <= 0x1F ? Find(opcode, serviceAction) : null, serviceAction, rctd)
                    : OneCommand(Find(opcode, -1), -1, rctd);
                break;
            default:
                task.InvalidFieldInCdb(state, 2, 2);
                return ValueTask.CompletedTask;
        }
        task.ReturnData(data, allocation);
        return ValueTask.CompletedTask;
    }

    private static bool HasServiceActions(byte opcode)
    {
        foreach (var d in CommandTable.All())
            if (d.Opcode == opcode && d.ServiceAction >= 0) return true;
        return false;
    }

    private static CommandDescriptor? Find(byte opcode, int serviceAction)
    {
        foreach (var d in CommandTable.All())
            if (d.Opcode == opcode && d.ServiceAction == serviceAction) return d;
        return null;
    }

    // SPC-5 6.35.2 Table 293/294: header, then 8 bytes per command (+12 with CTDP).
    private static byte[] AllCommands(bool rctd)
    {
        var commands = CommandTable.All().ToList();
        int each = 8 + (rctd ? TimeoutsDescriptorLength : 0);
        var d = new byte[4 + commands.Count * each];
        var s = d.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)(d.Length - 4)); // COMMAND DATA LENGTH
        int at = 4;
        foreach (var c in commands)
        {
            s[at] = c.Opcode;
            if (c.ServiceAction >= 0) BinaryPrimitives.WriteUInt16BigEndian(s[(at + 2)..], (ushort)c.ServiceAction);
            s[at + 5] = (byte)((rctd ? 0x02 : 0) | (c.ServiceAction >= 0 ? 0x01 : 0)); // CTDP, SERVACTV
            BinaryPrimitives.WriteUInt16BigEndian(s[(at + 6)..], (ushort)c.CdbLength);
            if (rctd) WriteTimeouts(s.Slice(at + 8, TimeoutsDescriptorLength), c);
            at += each;
        }
        return d;
    }

    // SPC-5 6.35.3 Table 295: SUPPORT 001b (not supported) or 011b (supported as the standard says).
    private static byte[] OneCommand(CommandDescriptor? c, int serviceAction, bool rctd)
    {
        if (c is null) return [0x00, 0x01, 0x00, 0x00];
        int length = 4 + c.CdbLength + (rctd ? TimeoutsDescriptorLength : 0);
        var d = new byte[length];
        var s = d.AsSpan();
        s[1] = (byte)((rctd ? 0x80 : 0) | 0b011);
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], (ushort)c.CdbLength);
        UsageData(c, s.Slice(4, c.CdbLength));
        if (rctd) WriteTimeouts(s[(4 + c.CdbLength)..], c);
        return d;
    }

    /// <summary>
    /// CDB USAGE DATA: byte 0 the operation code, the service action in its field, every other bit as in
    /// the descriptor's usage map (SPC-5 6.35.3).
    /// </summary>
    internal static void UsageData(CommandDescriptor c, Span<byte> into)
    {
        c.CdbUsage.CopyTo(into);
        into[0] = c.Opcode;
        if (c.ServiceAction >= 0) into[1] = (byte)((into[1] & 0xE0) | c.ServiceAction);
    }

    // SPC-5 6.35.4 Table 297: nominal processing time not indicated; recommended timeout in seconds.
    private static void WriteTimeouts(Span<byte> d, CommandDescriptor c)
    {
        d.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(d, TimeoutsDescriptorLength - 2);
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], RecommendedTimeoutSeconds(c));
    }

    /// <summary>
    /// Commands that may touch a whole volume (copy, sanitize, write same, unmap, format) get a long
    /// timeout; everything else is bounded by MAXIMUM TRANSFER LENGTH and gets 30 s.
    /// </summary>
    internal static uint RecommendedTimeoutSeconds(CommandDescriptor c) => c.Opcode switch
    {
        0x83 => 600,               // EXTENDED COPY
        0x48 => 3600,              // SANITIZE
        0x04 => 3600,              // FORMAT UNIT
        0x41 or 0x93 or 0x42 => 300, // WRITE SAME (10/16), UNMAP
        _ => 30,
    };
}
