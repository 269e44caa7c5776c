using System.Net;
using Microsoft.Extensions.Logging;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's outbound links to its peers, three per peer, each its own TCP connection with its own
/// request window (docs/distributed-volume.md §12, why three):
/// <list type="bullet">
/// <item><see cref="Parts"/>: owner parts (requests that may wait for stripe locks);</item>
/// <item><see cref="Chunks"/>: chunk I/O (requests that only wait for the disk);</item>
/// <item><see cref="Control"/>: one-way ordered parts, tokens, finals, votes, decisions — handlers
/// that never wait.</item>
/// </list>
/// Separate windows keep a full window of parts waiting for a lock from holding up the chunk I/O or
/// the token that lock's holder needs. Links are made on first use.
/// </summary>
internal sealed class PeerLinkSet : IAsyncDisposable
{
    private readonly Func<NodeId, EndPoint> _endpoints;
    private readonly InterNodeOptions _options;
    private readonly ILogger? _log;
    private readonly Dictionary<(int Node, int Kind), PeerLink> _links = [];
    private bool _disposed;

    public PeerLinkSet(Func<NodeId, EndPoint> endpoints, InterNodeOptions options, ILogger? log = null)
    {
        _endpoints = endpoints;
        _options = options;
        _log = log;
    }

    public PeerLink Parts(NodeId node) => Get(node, 0);

    public PeerLink Chunks(NodeId node) => Get(node, 1);

    public PeerLink Control(NodeId node) => Get(node, 2);

    public async ValueTask DisposeAsync()
    {
        PeerLink[] links;
        lock (_links)
        {
            _disposed = true;
            links = [.. _links.Values];
            _links.Clear();
        }

        foreach (PeerLink link in links)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }
    }

    private PeerLink Get(NodeId node, int kind)
    {
        lock (_links)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_links.TryGetValue((node.Value, kind), out PeerLink? link))
            {
                link = new PeerLink(_endpoints(node), _options, _log);
                _links[(node.Value, kind)] = link;
            }

            return link;
        }
    }
}
