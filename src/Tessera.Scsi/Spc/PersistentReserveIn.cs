using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.16 PERSISTENT RESERVE IN: READ KEYS, READ RESERVATION, REPORT CAPABILITIES and READ FULL
/// STATUS, answered from the context snapshot. Parameter data follow allocation-length rules: the
/// ADDITIONAL LENGTH fields always describe the whole list, whatever is cut off (SPC-5 6.16.2).
/// </summary>
internal static class PersistentReserveIn
{
    public const int ReadKeys = 0x00;
    public const int ReadReservation = 0x01;
    public const int ReportCapabilities = 0x02;
    public const int ReadFullStatus = 0x03;

    private static readonly byte[] Usage = [0x5E, 0x1F, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00];

    public static readonly CommandDescriptor[] Commands =
    [
        new(0x5E, ReadKeys, "PERSISTENT RESERVE IN / READ KEYS", Usage, ExecuteAsync, CommandFlags.AllowedUnderReservation),
        new(0x5E, ReadReservation, "PERSISTENT RESERVE IN / READ RESERVATION", Usage, ExecuteAsync, CommandFlags.AllowedUnderReservation),
        new(0x5E, ReportCapabilities, "PERSISTENT RESERVE IN / REPORT CAPABILITIES", Usage, ExecuteAsync, CommandFlags.AllowedUnderReservation),
        new(0x5E, ReadFullStatus, "PERSISTENT RESERVE IN / READ FULL STATUS", Usage, ExecuteAsync, CommandFlags.AllowedUnderReservation),
    ];

    private static ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int allocation = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        var pr = state.PersistentReservations;
        byte[] data = (cdb[1] & 0x1F) switch
        {
            ReadKeys => BuildReadKeys(pr),
            ReadReservation => BuildReadReservation(pr),
            ReportCapabilities => BuildReportCapabilities(pr),
            _ => BuildReadFullStatus(pr),
        };
        task.ReturnData(data, allocation);
        return ValueTask.CompletedTask;
    }

    /// <summary>SPC-5 6.16.2: PRgeneration, ADDITIONAL LENGTH, one reservation key per registration.</summary>
    internal static byte[] BuildReadKeys(PersistentReservationState pr)
    {
        var regs = pr.Registrations;
        var d = new byte[8 + 8 * regs.Length];
        BinaryPrimitives.WriteUInt32BigEndian(d, pr.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), (uint)(8 * regs.Length));
        for (int i = 0; i < regs.Length; i++)
            BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8 + 8 * i), regs[i].ReservationKey);
        return d;
    }

    /// <summary>
    /// SPC-5 6.16.3: PRgeneration, ADDITIONAL LENGTH (0 or 16), then the holder's key (zero for the
    /// all-registrants types), SCOPE (LU_SCOPE) and TYPE.
    /// </summary>
    internal static byte[] BuildReadReservation(PersistentReservationState pr)
    {
        if (pr.Reservation is not { } r)
        {
            var none = new byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(none, pr.Generation);
            return none;
        }
        var d = new byte[24];
        BinaryPrimitives.WriteUInt32BigEndian(d, pr.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), 16);
        ulong key = 0;
        if (!r.IsAllRegistrants)
        {
            foreach (var reg in pr.Registrations)
                if (reg.NexusKey == r.HolderNexusKey) { key = reg.ReservationKey; break; }
        }
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8), key);
        d[21] = r.Type; // SCOPE 0h (LU_SCOPE) in bits 7-4
        return d;
    }

    /// <summary>
    /// SPC-5 6.16.4. CRH = 0: RESERVE/RELEASE conflict while registrations exist (Tessera follows
    /// SPC-5 5.14.3 without the compatible-reservation exceptions). SIP_C, ATP_C and PTPL_C = 1;
    /// TMV = 1 with ALLOW COMMANDS 011b — TEST UNIT READY passes every reservation and the read-class
    /// commands (MODE SENSE, READ BUFFER …) pass Write Exclusive ones, as
    /// <see cref="PersistentReservationAccess"/> implements; PTPL_A reports APTPL; all six types.
    /// </summary>
    internal static byte[] BuildReportCapabilities(PersistentReservationState pr)
    {
        var d = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(d, 8);
        d[2] = 0x08 | 0x04 | 0x01; // SIP_C, ATP_C, PTPL_C
        d[3] = (byte)(0x80 | 0b011 << 4 | (pr.Aptpl ? 0x01 : 0x00)); // TMV, ALLOW COMMANDS, PTPL_A
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), PersistentReservationType.Mask);
        return d;
    }

    /// <summary>
    /// SPC-5 6.16.5: one full status descriptor per registration — key, ALL_TG_PT, R_HOLDER with
    /// SCOPE/TYPE, RELATIVE TARGET PORT IDENTIFIER and the initiator's iSCSI TransportID.
    /// </summary>
    internal static byte[] BuildReadFullStatus(PersistentReservationState pr)
    {
        var regs = pr.Registrations;
        int length = 0;
        foreach (var reg in regs) length += 24 + TransportId.Length(reg.Initiator);
        var d = new byte[8 + length];
        BinaryPrimitives.WriteUInt32BigEndian(d, pr.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), (uint)length);
        int at = 8;
        foreach (var reg in regs)
        {
            var desc = d.AsSpan(at);
            BinaryPrimitives.WriteUInt64BigEndian(desc, reg.ReservationKey);
            bool holder = pr.IsHolder(reg);
            desc[12] = (byte)((reg.AllTargetPorts ? 0x02 : 0) | (holder ? 0x01 : 0));
            if (holder) desc[13] = pr.Reservation!.Type; // SCOPE LU_SCOPE
            // With ALL_TG_PT the relative target port is not defined (SPC-5 6.16.5): report 0.
            BinaryPrimitives.WriteUInt16BigEndian(desc[18..], reg.AllTargetPorts ? (ushort)0 : reg.RelativeTargetPort);
            int tid = TransportId.Write(desc[24..], reg.Initiator);
            BinaryPrimitives.WriteUInt32BigEndian(desc[20..], (uint)tid);
            at += 24 + tid;
        }
        return d;
    }
}
