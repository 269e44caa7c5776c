using System.Globalization;
using System.Text;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Volumes;

namespace Tessera.Cluster.Metadata.Status;

/// <summary>
/// Reads <see cref="ClusterStatusReport"/> from a metadata store: nodes, volumes and ownership in
/// one read-only transaction, so the three agree with each other (one revision). Malformed
/// records do not stop the report; they are listed in <see cref="ClusterStatusReport.Problems"/>.
/// </summary>
internal static class ClusterStatus
{
    /// <param name="source">Describes the store in the report.</param>
    /// <param name="nodesCurrent">Whether node keys are live registrations (false for an embedded store no process holds).</param>
    public static async Task<ClusterStatusReport> ReadAsync(IMetadataStore store, string source, bool nodesCurrent = true, CancellationToken cancellationToken = default)
    {
        var read = await store.TxnAsync(
            [],
            [TxnOp.GetPrefix(MetadataKeys.Nodes), TxnOp.GetPrefix(MetadataKeys.Volumes), TxnOp.GetPrefix(MetadataKeys.Owners)],
            [],
            cancellationToken).ConfigureAwait(false);
        var problems = new List<string>();
        var nodes = new Dictionary<string, NodeStatus>(StringComparer.Ordinal);
        foreach (var entry in read.Responses[0])
        {
            try
            {
                var record = MetadataJson.Deserialize(entry.Value, MetadataJsonContext.Default.NodeRecord);
                string id = entry.Key[MetadataKeys.Nodes.Length..];
                nodes[id] = new NodeStatus(id, nodesCurrent, record.Portal, record.Peer, entry.CreateRevision);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or MetadataStoreException)
            {
                problems.Add(new MalformedMetadataException(entry.Key, e.Message).Message);
            }
        }

        var owners = new Dictionary<string, (KeyValueEntry Entry, OwnerRecord Record)>(StringComparer.Ordinal);
        foreach (var entry in read.Responses[2])
        {
            try
            {
                owners[entry.Key] = (entry, MetadataJson.Deserialize(entry.Value, MetadataJsonContext.Default.OwnerRecord));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or MetadataStoreException)
            {
                problems.Add(new MalformedMetadataException(entry.Key, e.Message).Message);
            }
        }

        var volumes = new List<VolumeStatus>();
        foreach (var entry in read.Responses[1])
        {
            VolumeRecord volume;
            try
            {
                volume = VolumeDirectory.Decode(entry);
            }
            catch (MalformedMetadataException e)
            {
                problems.Add(e.Message);
                continue;
            }

            volumes.Add(Summarise(volume, owners, nodes));
            foreach (string node in volume.Placement)
            {
                nodes.TryAdd(node, new NodeStatus(node, false, null, null, 0));
            }
        }

        foreach (var (_, record) in owners.Values)
        {
            nodes.TryAdd(record.Node, new NodeStatus(record.Node, false, null, null, 0));
        }

        return new ClusterStatusReport(
            source,
            read.Revision,
            nodesCurrent,
            [.. nodes.Values.OrderBy(n => n.Id, NodeOrder.Instance)],
            [.. volumes.OrderBy(v => v.Lun)],
            problems);
    }

    /// <summary>"0-3,7,9-10" for a sorted list of indexes; "" for none.</summary>
    public static string Ranges(IReadOnlyList<long> sorted)
    {
        var text = new StringBuilder();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            text.Append(text.Length == 0 ? "" : ",").Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j > i)
            {
                text.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            }

            i = j + 1;
        }

        return text.ToString();
    }

    private static VolumeStatus Summarise(VolumeRecord volume, Dictionary<string, (KeyValueEntry Entry, OwnerRecord Record)> owners, Dictionary<string, NodeStatus> nodes)
    {
        long count = volume.ToLayout().SubUnitCount;
        var shares = new Dictionary<string, (int Count, long Min, long Max)>(StringComparer.Ordinal);
        var orphans = new List<long>();
        int revoked = 0, released = 0, never = 0;
        for (int u = 0; u < count; u++)
        {
            if (!owners.TryGetValue(MetadataKeys.Owner(volume.Key, u), out var owner))
            {
                never++;
                orphans.Add(u);
                continue;
            }

            // The epoch is the key's version (EpochFencing); the record repeats it.
            long epoch = owner.Entry.Version;
            switch (owner.Record.State)
            {
                case OwnerState.Held:
                    var share = shares.GetValueOrDefault(owner.Record.Node, (0, long.MaxValue, 0));
                    shares[owner.Record.Node] = (share.Count + 1, Math.Min(share.Min, epoch), Math.Max(share.Max, epoch));
                    if (!(nodes.TryGetValue(owner.Record.Node, out var holder) && holder.Live && holder.Incarnation == owner.Record.Incarnation))
                    {
                        orphans.Add(u); // held by a node that is out, or by an incarnation of it that died
                    }

                    break;
                case OwnerState.Revoked:
                    revoked++;
                    orphans.Add(u);
                    break;
                default:
                    released++;
                    orphans.Add(u);
                    break;
            }
        }

        return new VolumeStatus(
            volume.Id, volume.Name, volume.Lun, volume.SizeBytes, volume.BlockSize, volume.PhysicalBlockSize, volume.ReadOnly,
            volume.DataColumns, volume.ChunkSize, volume.StripesPerSubUnit, count, volume.Placement,
            [.. shares.OrderBy(s => s.Key, NodeOrder.Instance).Select(s => new OwnerShare(s.Key, nodes.TryGetValue(s.Key, out var n) && n.Live, s.Value.Count, s.Value.Min, s.Value.Max))],
            revoked, released, never, orphans.Count, Ranges(orphans));
    }
}
