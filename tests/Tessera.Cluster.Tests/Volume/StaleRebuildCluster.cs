using System.Globalization;
using System.Net;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Embedded;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Volume;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// The `tessera node` composition without processes: N <see cref="NodeVolumeHost"/>s over loopback
/// TCP, each with its own <see cref="StaleColumnLiveness"/> over one shared embedded metadata store
/// and membership from a switchable <see cref="Switch"/>; one volume, ownership in memory. Node i has
/// store id "i+1", as in a real cluster.
/// </summary>
internal sealed class StaleRebuildCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly IPEndPoint[] _endpoints;

    private StaleRebuildCluster(string root, int nodes, long sizeBytes)
    {
        _root = root;
        Store = EmbeddedMetadataStore.Open(null);
        Membership = new Switch(nodes);
        Placement = [.. Enumerable.Range(1, nodes).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        Layout = new VolumeLayout(Guid.NewGuid(), sizeBytes, 512, nodes, 4, ClusterFixture.SmallChunk, ClusterFixture.SmallStripesPerSubUnit);
        Ownership = new InMemoryOwnershipView(Layout);
        var clusterId = Guid.NewGuid();
        _endpoints = new IPEndPoint[nodes];
        Columns = new StaleColumnLiveness[nodes];
        Hosts = new NodeVolumeHost[nodes];
        for (int i = 0; i < nodes; i++)
        {
            var node = new NodeId(i);
            Columns[i] = new StaleColumnLiveness(Membership, Placement, Store);
            var chunks = new ChunkStore(node, Path.Combine(root, $"node-{i}"));
            Hosts[i] = new NodeVolumeHost(node, chunks, NodeVolumeHost.DefaultOptions(clusterId, node), Columns[i], peer => _endpoints[peer.Value]);
            _endpoints[i] = Hosts[i].Start(new IPEndPoint(IPAddress.Loopback, 0));
        }

        foreach (NodeVolumeHost host in Hosts)
        {
            host.OpenVolume(Layout, Ownership);
        }
    }

    public EmbeddedMetadataStore Store { get; }

    public Switch Membership { get; }

    public IReadOnlyList<string> Placement { get; }

    public VolumeLayout Layout { get; }

    public InMemoryOwnershipView Ownership { get; }

    public StaleColumnLiveness[] Columns { get; }

    public NodeVolumeHost[] Hosts { get; }

    public IReadOnlyList<NodeId> Nodes => [.. Enumerable.Range(0, Hosts.Length).Select(i => new NodeId(i))];

    public static StaleRebuildCluster Create(int nodes = 6, long sizeBytes = 1 << 20) =>
        new(Path.Combine(Path.GetTempPath(), "tessera-sr-" + Guid.NewGuid().ToString("N")), nodes, sizeBytes);

    public DistributedVolume View(int node) => Hosts[node].Volume(Layout.VolumeId)!.View;

    public SubUnitOwner OwnerOf(long stripe) => Hosts[Ownership.Owner(Layout.SubUnitOf(stripe)).Value].Volume(Layout.VolumeId)!.Owner;

    /// <summary>As a lease lapsing would: the node is out, its sub-units move to live nodes, every host is told.</summary>
    public void MarkDown(int node)
    {
        Membership.Set(node, false);
        NodeId[] live = [.. Nodes.Where(Membership.IsUp)];
        Ownership.ReassignAll(new NodeId(node), u => live[(int)(u % live.Length)]);
        Hosts[node].Stop();
        foreach (NodeId other in live)
        {
            Hosts[other.Value].NodeFailed(new NodeId(node));
        }
    }

    /// <summary>The node registers again (same chunks, stale where writes skipped it); every node refreshes its stale set.</summary>
    public async Task BringBackAsync(int node)
    {
        Membership.Set(node, true);
        Hosts[node].Resume();
        foreach (NodeId other in Nodes.Where(n => n.Value != node))
        {
            Hosts[other.Value].NodeRejoined(new NodeId(node));
        }

        await RefreshAllAsync();
    }

    public async Task RefreshAllAsync()
    {
        foreach (StaleColumnLiveness columns in Columns)
        {
            await columns.RefreshAsync();
        }
    }

    /// <summary>A coordinator on <paramref name="node"/> for its own columns, guarded by <paramref name="guardKeys"/>.</summary>
    public Task<StaleRebuildOutcome> RebuildAsync(int node, IReadOnlyList<string>? guardKeys = null, Func<Task>? afterBegin = null) =>
        new StaleColumnRebuild(Store, Hosts[node].Rebuilds).RunAsync(Placement[node], new NodeId(node), Nodes, guardKeys ?? [],
            async _ =>
            {
                if (afterBegin is not null)
                {
                    await afterBegin();
                }

                return [Layout.VolumeId];
            },
            Hosts[node].Volume);

    public Task<KeyValueEntry?> StaleRecordAsync(int node) => Store.GetAsync(StaleColumnLiveness.KeyOf(Placement[node]));

    /// <summary>Random writes and unmaps through the portals <paramref name="portals"/> allows, kept in <paramref name="reference"/>.</summary>
    public async Task WriteAsync(byte[] reference, int seed, int operations, Func<int, bool> portals)
    {
        var random = new Random(seed);
        int maxBlocks = (int)(2 * Layout.StripeDataSize / Layout.BlockSize);
        for (int op = 0; op < operations; op++)
        {
            int portal;
            do
            {
                portal = random.Next(Hosts.Length);
            }
            while (!portals(portal));

            int count = 1 + random.Next(maxBlocks);
            long lba = random.NextInt64(Layout.BlockCount - count + 1);
            var range = new Range((int)(lba * Layout.BlockSize), (int)((lba + count) * Layout.BlockSize));
            if (random.Next(8) == 0)
            {
                await View(portal).UnmapAsync(lba, count);
                reference.AsSpan(range).Clear();
            }
            else
            {
                byte[] data = new byte[count * Layout.BlockSize];
                random.NextBytes(data);
                await View(portal).WriteAsync(lba, data, WriteFlags.None);
                data.CopyTo(reference.AsSpan(range));
            }
        }
    }

    /// <summary>Parity scrub of every stripe through its owner: the stripes that fail, and how many could not be checked.</summary>
    public async Task<(List<long> Bad, long Unchecked)> ScrubAsync()
    {
        var bad = new List<long>();
        long skipped = 0;
        for (long stripe = 0; stripe < Layout.StripeCount; stripe++)
        {
            bool? consistent = await OwnerOf(stripe).ScrubStripeAsync(stripe);
            if (consistent is null)
            {
                skipped++;
            }
            else if (consistent == false)
            {
                bad.Add(stripe);
            }
        }

        return (bad, skipped);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (NodeVolumeHost host in Hosts)
        {
            await host.DisposeAsync();
            await host.Store.DisposeAsync();
        }

        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Membership the test switches by hand.</summary>
    internal sealed class Switch(int nodes) : INodeLiveness
    {
        private readonly int[] _up = [.. Enumerable.Repeat(1, nodes)];

        public bool IsUp(NodeId node) => (uint)node.Value < (uint)_up.Length && Volatile.Read(ref _up[node.Value]) == 1;

        public void Set(int node, bool up) => Volatile.Write(ref _up[node], up ? 1 : 0);
    }
}
