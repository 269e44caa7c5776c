namespace Tessera.Scsi;

/// <summary>
/// An I_T nexus (SAM-5 4.7): one initiator port talking to one target port.
/// For iSCSI the initiator port is the initiator's iSCSI name plus its ISID
/// (RFC 7143 4.4.x, "iqn...,i,0x&lt;isid&gt;"), and the target port is one portal group
/// of the target, identified across the cluster by its relative target port identifier.
/// Reservations, persistent reservations and unit attentions are all keyed by this.
/// </summary>
public sealed record ItNexus(string InitiatorName, ulong Isid, ushort RelativeTargetPortId, ushort TargetPortGroupId)
{
    private string? _initiatorPortName;

    /// <summary>SAM-5 initiator port name: "InitiatorName,i,0xISID" (ISID as 12 hex digits).</summary>
    public string InitiatorPortName => _initiatorPortName ??= $"{InitiatorName},i,0x{Isid:x12}";

    private string? _key;

    /// <summary>
    /// Stable string identity of this I_T nexus ("InitiatorPortName,t,0xRELPORT"): the key under which
    /// LU context (unit attentions, reservations) is stored, so it survives serialisation.
    /// Cached so the I/O path never formats it.
    /// </summary>
    public string Key => _key ??= $"{InitiatorPortName},t,0x{RelativeTargetPortId:x4}";

    // Equality is the four components only; the lazily cached strings must not take part
    // (the synthesized record members would compare and hash them).
    public bool Equals(ItNexus? other) =>
        other is not null && Isid == other.Isid && RelativeTargetPortId == other.RelativeTargetPortId
        && TargetPortGroupId == other.TargetPortGroupId && string.Equals(InitiatorName, other.InitiatorName, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(InitiatorName, Isid, RelativeTargetPortId, TargetPortGroupId);

    public override string ToString() => $"{InitiatorPortName} -> port {RelativeTargetPortId}";
}
