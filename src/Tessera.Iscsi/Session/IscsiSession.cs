using Tessera.Iscsi.Connection;
using Tessera.Iscsi.Login;
using Tessera.Scsi;

namespace Tessera.Iscsi.Session;

/// <summary>
/// One iSCSI session (RFC 7143 3.4): an I_T nexus with its command numbering. This target runs
/// one connection per session (MaxConnections=1), so the connection holds the CmdSN window.
/// </summary>
internal sealed class IscsiSession(string initiatorName, ulong isid, bool isDiscovery, ItNexus? nexus, OperationalParameters parameters)
{
    public string InitiatorName { get; } = initiatorName;
    public ulong Isid { get; } = isid;
    public bool IsDiscovery { get; } = isDiscovery;
    /// <summary>Null for discovery sessions, which reach no logical unit.</summary>
    public ItNexus? Nexus { get; } = nexus;
    public OperationalParameters Parameters { get; } = parameters;
    public ushort Tsih { get; set; }
    public IscsiConnection? Connection { get; set; }
}
