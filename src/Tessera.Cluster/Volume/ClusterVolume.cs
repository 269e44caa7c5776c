using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>One volume of an <see cref="InProcessCluster"/>: its layout, ownership, and per-node owners and portal views.</summary>
internal sealed class ClusterVolume
{
    public ClusterVolume(InProcessCluster cluster, VolumeLayout layout)
    {
        Layout = layout;
        Ownership = new InMemoryOwnershipView(layout);
        _rebuiltBelow = new long[cluster.NodeCount];
        var owners = new SubUnitOwner[cluster.NodeCount];
        if (cluster.Hosts is { } hosts)
        {
            // Over TCP: every node's host opens the volume with its own owner, view and token links.
            var views = new DistributedVolume[owners.Length];
            var tokens = new VolumeTokenTransport[owners.Length];
            for (int i = 0; i < owners.Length; i++)
            {
                NodeVolume opened = hosts[i].OpenVolume(layout, Ownership);
                (owners[i], views[i], tokens[i]) = (opened.Owner, opened.View, opened.Tokens);
            }

            Owners = owners;
            Views = views;
            _tokenMessages = () => tokens.Sum(t => t.Sent);
            return;
        }

        for (int i = 0; i < owners.Length; i++)
        {
            owners[i] = new SubUnitOwner(new NodeId(i), layout, Ownership, cluster.Chunks, cluster);
        }

        var mailboxes = new OrderingMailbox[owners.Length];
        for (int i = 0; i < owners.Length; i++)
        {
            mailboxes[i] = owners[i].Ordering;
        }

        var transport = new InProcessTokenTransport(mailboxes, cluster, cluster.Jitter);
        foreach (OrderingMailbox mailbox in mailboxes)
        {
            mailbox.Connect(transport);
        }

        _tokenMessages = () => transport.Sent;

        Owners = owners;
        var channel = new LocalOwnerChannel((node, _) => owners[node.Value], cluster, cluster.Jitter);
        var direct = new DistributedVolume[owners.Length];
        for (int i = 0; i < direct.Length; i++)
        {
            direct[i] = new DistributedVolume(new NodeId(i), layout, Ownership, channel, cluster.Chunks, cluster);
        }

        Views = direct;
    }

    private readonly Func<long> _tokenMessages;

    // Per node: while it is being rebuilt, its columns of stripes below this are current again.
    private readonly long[] _rebuiltBelow;

    public VolumeLayout Layout { get; }

    public InMemoryOwnershipView Ownership { get; }

    public IReadOnlyList<SubUnitOwner> Owners { get; }

    /// <summary>The portal view of node i (any of them serves any LBA).</summary>
    public IReadOnlyList<DistributedVolume> Views { get; }

    /// <summary>Token and Final messages sent between this volume's owners so far.</summary>
    public long TokenMessagesSent => _tokenMessages();

    internal bool IsRebuilt(NodeId node, long stripe) => stripe < Volatile.Read(ref _rebuiltBelow[node.Value]);

    internal void BeginRebuild(NodeId node) => Volatile.Write(ref _rebuiltBelow[node.Value], 0);

    /// <summary>Recomputes every column <paramref name="node"/> holds, stripe by stripe, through each stripe's current owner.</summary>
    internal async Task RebuildAsync(NodeId node, CancellationToken cancellationToken)
    {
        for (long stripe = 0; stripe < Layout.StripeCount; stripe++)
        {
            long next = stripe + 1;
            if (Layout.ColumnOf(stripe, node) < 0)
            {
                Volatile.Write(ref _rebuiltBelow[node.Value], next);
                continue;
            }

            NodeId owner = Ownership.Owner(Layout.SubUnitOf(stripe));
            await Owners[owner.Value].RebuildStripeAsync(stripe, node, () => Volatile.Write(ref _rebuiltBelow[node.Value], next), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Parity scrub of every stripe through its current owner (under the stripe lock). Returns the
    /// stripes that fail their row or diagonal equations, and counts those that could not be checked
    /// because a column's node is out.
    /// </summary>
    public async Task<(List<long> Inconsistent, long Unchecked)> ScrubAsync(CancellationToken cancellationToken = default)
    {
        var bad = new List<long>();
        long skipped = 0;
        for (long stripe = 0; stripe < Layout.StripeCount; stripe++)
        {
            NodeId owner = Ownership.Owner(Layout.SubUnitOf(stripe));
            bool? consistent = await Owners[owner.Value].ScrubStripeAsync(stripe, cancellationToken).ConfigureAwait(false);
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
}
