using Tessera.Cluster.Context;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>One in-process "node": a membership registration, its context replicator and one LU context.</summary>
internal sealed class ContextNode : IAsyncDisposable
{
    public required string Id { get; init; }

    /// <summary>1-based node index: also its target port group and relative target port id.</summary>
    public required ushort Index { get; init; }

    public required NodeRegistration Registration { get; init; }

    public required ContextReplicator Replicator { get; init; }

    public required ClusterLuContext Context { get; init; }

    public async ValueTask DisposeAsync()
    {
        await Context.DisposeAsync();
        await Replicator.DisposeAsync();
        await Registration.DisposeAsync();
    }
}

/// <summary>N nodes sharing ONE metadata store, each with a <see cref="ClusterLuContext"/> of the same volume.</summary>
internal sealed class ContextCluster : IAsyncDisposable
{
    /// <summary>Membership lease TTL of the test nodes.</summary>
    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(5);

    private ContextCluster(IMetadataStore store, string volumeId, ClusterContextOptions options, TimeSpan leaseTtl)
    {
        Store = store;
        VolumeId = volumeId;
        Options = options;
        Ttl = leaseTtl;
    }

    public TimeSpan Ttl { get; }

    public IMetadataStore Store { get; }

    public string VolumeId { get; }

    public ClusterContextOptions Options { get; }

    public List<ContextNode> Nodes { get; } = [];

    public string Key => ContextKeys.Of(VolumeId);

    /// <summary>Node by 1-based index, as the show items name them ("node 1", "node 3").</summary>
    public ContextNode this[int index] => Nodes[index - 1];

    /// <summary>
    /// Test options: a short ack timeout; a fence grace far below the lease TTL, which is enough here
    /// because an in-process node hears its own fencing through its self-watch at once (a real
    /// deployment uses at least the lease TTL, see docs/cluster-context.md).
    /// </summary>
    public static ClusterContextOptions TestOptions { get; } = new()
    {
        AckTimeout = TimeSpan.FromSeconds(2),
        FenceGrace = TimeSpan.FromSeconds(1),
    };

    public static async Task<ContextCluster> StartAsync(IMetadataStore store, int nodes, string? volumeId = null, ClusterContextOptions? options = null, TimeSpan? leaseTtl = null)
    {
        var cluster = new ContextCluster(store, volumeId ?? Guid.NewGuid().ToString("N"), options ?? TestOptions, leaseTtl ?? LeaseTtl);
        try
        {
            for (int i = 0; i < nodes; i++)
            {
                await cluster.AddNodeAsync();
            }
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Registers the next node, starts its replicator and opens the volume's context on it.</summary>
    public async Task<ContextNode> AddNodeAsync(LuState? initial = null)
    {
        ushort index = (ushort)(Nodes.Count + 1);
        string id = "n" + index;
        var registration = await new ClusterMembership(Store).RegisterAsync(new NodeRecord(id, $"127.0.0.1:{3260 + index}", $"127.0.0.1:{7000 + index}"), Ttl);
        var replicator = new ContextReplicator(Store, registration, Options with { LocalTargetPortGroupId = index });
        await replicator.StartAsync();
        var context = await replicator.OpenAsync(VolumeId, initial);
        var node = new ContextNode { Id = id, Index = index, Registration = registration, Replicator = replicator, Context = context };
        Nodes.Add(node);
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }
}
