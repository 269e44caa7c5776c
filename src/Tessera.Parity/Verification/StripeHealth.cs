namespace Tessera.Parity;

/// <summary>Outcome of <see cref="ParityCodec.VerifyAndRepair"/>.</summary>
public enum StripeHealth
{
    /// <summary>Every block matches its checksum and every parity equation holds.</summary>
    Consistent,

    /// <summary>One or two columns had bad blocks; they were rebuilt and now match their checksums.</summary>
    Repaired,

    /// <summary>Every checksum matches yet a parity equation fails: the damage cannot be located.</summary>
    Inconsistent,

    /// <summary>More than two columns are bad, or the rebuilt columns still fail their checksums.</summary>
    Unrepairable,
}
