namespace Tessera.Scsi;

/// <summary>How a command is treated in the presence of a persistent reservation held by another I_T nexus.</summary>
internal enum ReservationAccessClass : byte
{
    /// <summary>Allowed whatever the reservation (INQUIRY, REPORT LUNS, TEST UNIT READY, READ CAPACITY …).</summary>
    Allowed,
    /// <summary>Reads: allowed through the Write Exclusive types, conflict for Exclusive Access ones.</summary>
    Read,
    /// <summary>Writes and everything else: conflict unless the nexus is registered under a registrants-only or all-registrants type.</summary>
    Write,
}

/// <summary>
/// The reservation-conflict rules of SPC-5 5.14.3 ("SPC commands that are allowed in the presence of
/// various reservations") and SBC-4 4.17.x (the SBC-4 equivalent). Classes are looked up by operation
/// code and service action here, so commands other areas add need no annotation: anything not listed
/// is in the write class, which is the safe default for an unknown command. PERSISTENT RESERVE OUT is
/// allowed at dispatch because each service action decides for itself (SPC-5 Table 65).
/// </summary>
internal static class PersistentReservationAccess
{
    /// <summary>
    /// True when <paramref name="nexus"/> must get RESERVATION CONFLICT for <paramref name="cdb"/>.
    /// Only called when a reservation exists (the I/O path never gets here otherwise).
    /// </summary>
    public static bool Conflicts(ReadOnlySpan<byte> cdb, PersistentReservationState pr, ItNexus nexus)
    {
        if (pr.Reservation is not { } reservation) return false;
        var access = Classify(cdb);
        if (access == ReservationAccessClass.Allowed) return false;
        int index = pr.IndexOf(nexus);
        if (index >= 0)
        {
            // Holder, or any registrant under registrants-only / all-registrants types.
            if (reservation.IsAllRegistrants || reservation.IsRegistrantsOnly) return false;
            if (pr.Registrations[index].NexusKey == reservation.HolderNexusKey) return false;
        }
        return !(access == ReservationAccessClass.Read && reservation.IsWriteExclusive);
    }

    /// <summary>The access class of a CDB (the CDB is needed for START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL).</summary>
    public static ReservationAccessClass Classify(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty) return ReservationAccessClass.Write;
        int sa = cdb.Length > 1 ? cdb[1] & 0x1F : -1;
        switch (cdb[0])
        {
            case 0x00: // TEST UNIT READY
            case 0x03: // REQUEST SENSE
            case 0x12: // INQUIRY
            case 0x25: // READ CAPACITY (10)
            case 0x4D: // LOG SENSE
            case 0x5E: // PERSISTENT RESERVE IN
            case 0x5F: // PERSISTENT RESERVE OUT: per service action, in the command (SPC-5 Table 65)
            case 0x86: // ACCESS CONTROL IN
            case 0x87: // ACCESS CONTROL OUT
            case 0xA0: // REPORT LUNS
            case 0x16: case 0x56: // RESERVE (6)/(10): CRH = 0, the command itself conflicts (SPC-5 5.14.3)
            case 0x17: case 0x57: // RELEASE (6)/(10): likewise
                return ReservationAccessClass.Allowed;

            case 0x08: case 0x28: case 0xA8: case 0x88: // READ
            case 0x2F: case 0xAF: case 0x8F: // VERIFY
            case 0x34: case 0x90: // PRE-FETCH
            case 0x37: case 0xB7: // READ DEFECT DATA
            case 0x1A: case 0x5A: // MODE SENSE
            case 0x1C: // RECEIVE DIAGNOSTIC RESULTS
            case 0x3C: // READ BUFFER
            case 0x8C: // READ ATTRIBUTE
            case 0xA2: // SECURITY PROTOCOL IN
            case 0x84: // RECEIVE COPY RESULTS
                return ReservationAccessClass.Read;

            case 0x9E: // SERVICE ACTION IN (16)
                return sa switch
                {
                    0x10 => ReservationAccessClass.Allowed, // READ CAPACITY (16)
                    0x12 or 0x13 => ReservationAccessClass.Read, // GET LBA STATUS, REPORT REFERRALS
                    _ => ReservationAccessClass.Write,
                };

            case 0xA3: // MAINTENANCE IN
                return sa switch
                {
                    0x05 or 0x0A or 0x0B or 0x0E or 0x0F => ReservationAccessClass.Allowed, // REPORT IDENTIFYING INFORMATION, TARGET PORT GROUPS, ALIASES, PRIORITY, TIMESTAMP
                    0x0C or 0x0D or 0x10 => ReservationAccessClass.Read, // REPORT SUPPORTED OPERATION CODES / TMFs, MANAGEMENT PROTOCOL IN
                    _ => ReservationAccessClass.Write,
                };

            case 0xAB: // SERVICE ACTION IN (12)
                return sa == 0x01 ? ReservationAccessClass.Allowed : ReservationAccessClass.Write; // READ MEDIA SERIAL NUMBER

            case 0x1B: // START STOP UNIT: START = 1 with POWER CONDITION 0h is allowed (SBC-4 4.17)
                return cdb.Length > 4 && (cdb[4] & 0xF1) == 0x01 ? ReservationAccessClass.Allowed : ReservationAccessClass.Write;

            case 0x1E: // PREVENT ALLOW MEDIUM REMOVAL: PREVENT = 0 is allowed
                return cdb.Length > 4 && (cdb[4] & 0x03) == 0 ? ReservationAccessClass.Allowed : ReservationAccessClass.Write;

            default:
                return ReservationAccessClass.Write;
        }
    }
}
