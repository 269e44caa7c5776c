namespace Tessera.Scsi;

/// <summary>
/// A unit attention condition queued for one I_T nexus (SAM-5 5.14): the additional sense code
/// and qualifier the next eligible command on that nexus reports with sense key UNIT ATTENTION.
/// </summary>
public readonly record struct UnitAttention(byte Asc, byte Ascq)
{
    /// <summary>29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED — a new I_T nexus.</summary>
    public static UnitAttention PowerOnReset => new(0x29, 0x00);
    /// <summary>29h/01h POWER ON OCCURRED — TARGET COLD RESET.</summary>
    public static UnitAttention PowerOnOccurred => new(0x29, 0x01);
    /// <summary>29h/02h SCSI BUS RESET OCCURRED — TARGET WARM RESET.</summary>
    public static UnitAttention TargetReset => new(0x29, 0x02);
    /// <summary>29h/03h BUS DEVICE RESET FUNCTION OCCURRED — LOGICAL UNIT RESET.</summary>
    public static UnitAttention LogicalUnitReset => new(0x29, 0x03);
    /// <summary>29h/07h I_T NEXUS LOSS OCCURRED.</summary>
    public static UnitAttention ItNexusLoss => new(0x29, 0x07);
    /// <summary>2Ah/01h MODE PARAMETERS CHANGED.</summary>
    public static UnitAttention ModeParametersChanged => new(0x2A, 0x01);
    /// <summary>2Ah/03h RESERVATIONS PREEMPTED.</summary>
    public static UnitAttention ReservationsPreempted => new(0x2A, 0x03);
    /// <summary>2Ah/04h RESERVATIONS RELEASED.</summary>
    public static UnitAttention ReservationsReleased => new(0x2A, 0x04);
    /// <summary>2Ah/05h REGISTRATIONS PREEMPTED.</summary>
    public static UnitAttention RegistrationsPreempted => new(0x2A, 0x05);
    /// <summary>2Ah/06h ASYMMETRIC ACCESS STATE CHANGED.</summary>
    public static UnitAttention AsymmetricAccessStateChanged => new(0x2A, 0x06);
    /// <summary>2Fh/00h COMMANDS CLEARED BY ANOTHER INITIATOR.</summary>
    public static UnitAttention CommandsClearedByAnotherInitiator => new(0x2F, 0x00);
    /// <summary>3Fh/0Eh REPORTED LUNS DATA HAS CHANGED.</summary>
    public static UnitAttention ReportedLunsDataChanged => new(0x3F, 0x0E);

    /// <summary>A reset-class condition (ASC 29h) supersedes everything queued before it.</summary>
    internal bool IsReset => Asc == 0x29;

    public override string ToString() => $"{Asc:X2}h/{Ascq:X2}h";
}
