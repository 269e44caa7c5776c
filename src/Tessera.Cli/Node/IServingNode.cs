using System.Net;
using Tessera.Storage;
using IscsiChap = Tessera.Iscsi.Login.ChapCredentials;

namespace Tessera.Cli.Node;

/// <summary>What `tessera up` runs: one node, or several in one process.</summary>
internal interface IServingNode : IAsyncDisposable
{
    string TargetName { get; }

    IReadOnlyList<VolumeInfo> Volumes { get; }

    /// <summary>Every portal served, node order.</summary>
    IReadOnlyList<IPEndPoint> PortalEndPoints { get; }

    /// <summary>Starts listening; a busy port throws <see cref="System.Net.Sockets.SocketException"/>.</summary>
    void Start();
}

internal static class NodeSettingsChap
{
    /// <summary>The iSCSI transport's view of the CHAP secrets kept in the node settings.</summary>
    public static IscsiChap ToIscsiChap(this NodeSettings settings) => new()
    {
        User = settings.Chap?.User,
        Secret = settings.Chap?.Secret,
        MutualUser = settings.MutualChap?.User,
        MutualSecret = settings.MutualChap?.Secret,
        RequireForDiscovery = settings.DiscoveryChap,
    };
}
