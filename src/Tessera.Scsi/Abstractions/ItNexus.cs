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

    public override string ToString() => $"{InitiatorPortName} -> port {RelativeTargetPortId}";
}
