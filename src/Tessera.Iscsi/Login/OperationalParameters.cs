namespace Tessera.Iscsi.Login;

/// <summary>
/// The negotiated operational parameters of one session and its connection (RFC 7143 13),
/// starting at the RFC defaults. Read on the I/O path, written only during login.
/// </summary>
internal sealed class OperationalParameters
{
    // Connection-only (13.1, 13.12)
    public bool HeaderDigest { get; set; }
    public bool DataDigest { get; set; }
    /// <summary>The initiator's MaxRecvDataSegmentLength: the most we may put in one PDU we send.</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; set; } = 8192;

    // Session-wide
    public int MaxConnections { get; set; } = 1;
    public bool InitialR2T { get; set; } = true;
    public bool ImmediateData { get; set; } = true;
    public int MaxBurstLength { get; set; } = 262144;
    public int FirstBurstLength { get; set; } = 65536;
    public int DefaultTime2Wait { get; set; } = 2;
    public int DefaultTime2Retain { get; set; } = 20;
    public int MaxOutstandingR2T { get; set; } = 1;
    public bool DataPduInOrder { get; set; } = true;
    public bool DataSequenceInOrder { get; set; } = true;
    public int ErrorRecoveryLevel { get; set; }
}

/// <summary>Limits this target offers during negotiation (its side of every min/max/AND/OR).</summary>
public sealed record IscsiLimits
{
    /// <summary>What we accept per PDU (declared to the initiator).</summary>
    public int MaxRecvDataSegmentLength { get; init; } = 262144;
    public int MaxBurstLength { get; init; } = 16 * 1024 * 1024 - 1;
    public int FirstBurstLength { get; init; } = 16 * 1024 * 1024 - 1;
    public int MaxOutstandingR2T { get; init; } = 16;
    /// <summary>CmdSN window: commands the initiator may have outstanding per session.</summary>
    public int CommandWindow { get; init; } = 128;
    /// <summary>Largest Expected Data Transfer Length accepted for one command.</summary>
    public int MaxTransferLength { get; init; } = 32 * 1024 * 1024;
    /// <summary>Seconds of silence before the target pings with NOP-In; 0 disables.</summary>
    public int NopInIntervalSeconds { get; init; } = 10;
    /// <summary>
    /// Seconds without any PDU before the connection is dropped. Generous on purpose: a
    /// single-threaded initiator (libiscsi) answers no ping while its application sleeps, and
    /// SANITIZE polling waits a minute between commands; a crashed host is still cleaned up.
    /// </summary>
    public int NopInTimeoutSeconds { get; init; } = 180;
    /// <summary>Seconds a connection may spend in login before it is dropped.</summary>
    public int LoginTimeoutSeconds { get; init; } = 15;
}
