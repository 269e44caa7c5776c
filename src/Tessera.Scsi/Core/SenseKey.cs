namespace Tessera.Scsi;

/// <summary>SPC-5 4.4.8 Table 52 sense keys.</summary>
internal enum SenseKey : byte
{
    NoSense = 0x0,
    RecoveredError = 0x1,
    NotReady = 0x2,
    MediumError = 0x3,
    HardwareError = 0x4,
    IllegalRequest = 0x5,
    UnitAttention = 0x6,
    DataProtect = 0x7,
    BlankCheck = 0x8,
    CopyAborted = 0xA,
    AbortedCommand = 0xB,
    Miscompare = 0xE,
}

/// <summary>SPC-5 4.4.9 additional sense code and qualifier pairs, as ASC &lt;&lt; 8 | ASCQ.</summary>
internal static class Asc
{
    public const ushort NoAdditionalSenseInformation = 0x0000;
    /// <summary>LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION: also "the LU context cannot be reached now".</summary>
    public const ushort AsymmetricAccessStateTransition = 0x040A;
    public const ushort LogicalUnitNotReadySanitizeInProgress = 0x041B;
    public const ushort WriteError = 0x0C00;
    public const ushort InvalidFieldInCommandInformationUnit = 0x0E03;
    public const ushort UnrecoveredReadError = 0x1100;
    public const ushort ParameterListLengthError = 0x1A00;
    public const ushort MiscompareDuringVerifyOperation = 0x1D00;
    public const ushort InvalidCommandOperationCode = 0x2000;
    public const ushort LogicalBlockAddressOutOfRange = 0x2100;
    public const ushort InvalidFieldInCdb = 0x2400;
    public const ushort LogicalUnitNotSupported = 0x2500;
    public const ushort InvalidFieldInParameterList = 0x2600;
    public const ushort ParameterNotSupported = 0x2601;
    public const ushort WriteProtected = 0x2700;
    public const ushort SanitizeCommandFailed = 0x3103;
    public const ushort SavingParametersNotSupported = 0x3900;
    public const ushort InternalTargetFailure = 0x4400;
}
