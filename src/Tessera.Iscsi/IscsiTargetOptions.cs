using System.Net;
using Tessera.Iscsi.Login;

namespace Tessera.Iscsi;

/// <summary>One network portal of the target as SendTargets reports it (RFC 7143 13.8).</summary>
public sealed record PortalAddress(IPEndPoint EndPoint, ushort PortalGroupTag)
{
    /// <summary>"address:port,tpgt" with IPv6 addresses in brackets (RFC 7143 13.8).</summary>
    public override string ToString()
    {
        string host = EndPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{EndPoint.Address}]" : EndPoint.Address.ToString();
        return $"{host}:{EndPoint.Port},{PortalGroupTag}";
    }
}

/// <summary>Everything the iSCSI transport of one node needs to know.</summary>
public sealed record IscsiTargetOptions
{
    /// <summary>The target's iSCSI name (one IQN per cluster).</summary>
    public required string TargetName { get; init; }

    public string? TargetAlias { get; init; }

    /// <summary>This node's portal group tag (TPGT = node index).</summary>
    public ushort PortalGroupTag { get; init; } = 1;

    /// <summary>Relative target port identifier of this node's target port (SPC-5 7.8.x).</summary>
    public ushort RelativeTargetPortId { get; init; } = 1;

    /// <summary>Target port group (ALUA) this node's port belongs to.</summary>
    public ushort TargetPortGroupId { get; init; } = 1;

    /// <summary>Every portal of the target (all nodes), listed by SendTargets.</summary>
    public IReadOnlyList<PortalAddress> Portals { get; init; } = [];

    public ChapCredentials Chap { get; init; } = new();

    public IscsiLimits Limits { get; init; } = new();
}
