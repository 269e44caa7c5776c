namespace Tessera.Scsi;

/// <summary>
/// SPC-2 7.21-7.24 RESERVE/RELEASE (6) and (10): the SCSI-2 logical unit reservation, held by one
/// I_T nexus. Other nexuses get RESERVATION CONFLICT for everything but INQUIRY, REPORT LUNS,
/// REQUEST SENSE and RELEASE (the check lives in dispatch); RELEASE by a non-holder does nothing.
/// Third-party and extent reservations are not supported (INVALID FIELD IN CDB).
/// </summary>
internal static class Reserve
{
    public static readonly CommandDescriptor Reserve6 = new(0x16, -1, "RESERVE(6)",
        [0x16, 0x00, 0x00, 0x00, 0x00, 0x00], ReserveAsync);

    public static readonly CommandDescriptor Release6 = new(0x17, -1, "RELEASE(6)",
        [0x17, 0x00, 0x00, 0x00, 0x00, 0x00], ReleaseAsync, CommandFlags.AllowedUnderReservation);

    public static readonly CommandDescriptor Reserve10 = new(0x56, -1, "RESERVE(10)",
        [0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], ReserveAsync);

    public static readonly CommandDescriptor Release10 = new(0x57, -1, "RELEASE(10)",
        [0x57, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], ReleaseAsync, CommandFlags.AllowedUnderReservation);

    private static async ValueTask ReserveAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        string key = task.Nexus.Key;
        bool granted = await lu.Context.ChangeAsync(s =>
        {
            // SPC-5 5.14.1: with persistent reservations in use, RESERVE conflicts.
            if (!s.PersistentReservations.IsEmpty) return (s, false);
            if (s.Scsi2Reservation is { } holder) return (s, holder == key);
            return (s with { Scsi2Reservation = key }, true);
        }).ConfigureAwait(false);
        if (!granted) task.ReservationConflict();
    }

    private static async ValueTask ReleaseAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        string key = task.Nexus.Key;
        if (state.Scsi2Reservation != key && state.PersistentReservations.IsEmpty) return; // not the holder: GOOD, nothing happens
        bool ok = await lu.Context.ChangeAsync(s =>
        {
            if (!s.PersistentReservations.IsEmpty) return (s, false);
            return s.Scsi2Reservation == key ? (s with { Scsi2Reservation = null }, true) : (s, true);
        }).ConfigureAwait(false);
        if (!ok) task.ReservationConflict();
    }
}
