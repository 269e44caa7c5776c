using System.Globalization;
using System.Text.Json;
using Tessera.Cluster.Metadata.Membership;

namespace Tessera.Cluster.Metadata.Volumes;

/// <summary>
/// The cluster's volumes: records under /tessera/volumes/&lt;volume-id&gt; (<see cref="VolumeRecord"/>).
/// Names (ignoring case) and LUNs are unique cluster-wide: a volume is created in one transaction
/// with two claim keys (<see cref="MetadataKeys.VolumeNameClaim"/>, <see cref="MetadataKeys.VolumeLunClaim"/>)
/// that must be absent, so two creators racing for a name or a LUN cannot both win. Deleting removes
/// the record, its claims, its ownership records and its SCSI context in one transaction.
/// Sub-unit ownership is not written here: each node's <see cref="Ownership.OwnershipAgent"/> acquires
/// its share of a new volume through epoch fencing.
/// </summary>
internal sealed class VolumeDirectory(IMetadataStore store)
{
    // Creators racing for the lowest free LUN retry; each retry means someone else created a volume.
    private const int MaxAttempts = 32;

    /// <summary>
    /// Creates a volume placed over <paramref name="placement"/> (node ids; null = every live node,
    /// in <see cref="NodeOrder"/>). Throws <see cref="ArgumentException"/> for a bad spec and
    /// <see cref="VolumeDirectoryException"/> when the name, LUN or id is taken or there are fewer
    /// than K + 2 nodes.
    /// </summary>
    public async Task<VolumeRecord> CreateAsync(VolumeSpec spec, IReadOnlyList<string>? placement = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (VolumeRecord.NameProblem(spec.Name) is { } nameProblem)
        {
            throw new ArgumentException(nameProblem, nameof(spec));
        }

        if (placement is null)
        {
            var (live, _) = await new ClusterMembership(store).ListLiveAsync(cancellationToken).ConfigureAwait(false);
            placement = live.Select(n => n.Id).Order(NodeOrder.Instance).ToList();
        }

        if (placement.Count < spec.DataColumns + 2)
        {
            throw new VolumeDirectoryException(
                $"volume '{spec.Name}': {spec.DataColumns} data columns plus 2 parity columns need {spec.DataColumns + 2} nodes, " +
                $"but {placement.Count} {(placement.Count == 1 ? "is" : "are")} available ({(placement.Count == 0 ? "none" : string.Join(", ", placement))})");
        }

        var record = new VolumeRecord
        {
            Id = spec.Id ?? Guid.NewGuid(),
            Name = spec.Name,
            Lun = spec.Lun ?? 0,
            SizeBytes = spec.SizeBytes,
            BlockSize = spec.BlockSize,
            PhysicalBlockSize = spec.PhysicalBlockSize == 0 ? spec.BlockSize : spec.PhysicalBlockSize,
            ReadOnly = spec.ReadOnly,
            DataColumns = spec.DataColumns,
            ChunkSize = spec.ChunkSize,
            StripesPerSubUnit = spec.StripesPerSubUnit,
            Placement = [.. placement],
            Created = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        };
        if (record.Problem() is { } problem)
        {
            throw new ArgumentException($"volume '{spec.Name}': {problem}", nameof(spec));
        }

        string recordKey = MetadataKeys.Volume(record.Key);
        string nameClaim = MetadataKeys.VolumeNameClaim(record.Name);
        for (int attempt = 1; ; attempt++)
        {
            if (spec.Lun is null)
            {
                record = record with { Lun = await LowestFreeLunAsync(cancellationToken).ConfigureAwait(false) };
            }

            string lunClaim = MetadataKeys.VolumeLunClaim(record.Lun);
            byte[] id = System.Text.Encoding.UTF8.GetBytes(record.Key);
            var result = await store.TxnAsync(
                [Compare.Absent(recordKey), Compare.Absent(nameClaim), Compare.Absent(lunClaim)],
                [
                    MetadataJson.PutJson(recordKey, record, MetadataJsonContext.Default.VolumeRecord),
                    TxnOp.Put(nameClaim, id),
                    TxnOp.Put(lunClaim, id),
                ],
                [TxnOp.Get(recordKey), TxnOp.Get(nameClaim), TxnOp.Get(lunClaim)],
                cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return record;
            }

            if (result.Responses[0].Count > 0)
            {
                throw new VolumeDirectoryException($"a volume with id {record.Key} already exists");
            }

            if (result.Responses[1].Count > 0)
            {
                string holder = await ClaimHolderNameAsync(result.Responses[1][0], cancellationToken).ConfigureAwait(false);
                throw new VolumeDirectoryException(holder == record.Name
                    ? $"a volume named '{record.Name}' already exists"
                    : $"a volume named '{holder}' already exists (names differ only in case)");
            }

            if (spec.Lun is not null)
            {
                string holder = await ClaimHolderNameAsync(result.Responses[2][0], cancellationToken).ConfigureAwait(false);
                throw new VolumeDirectoryException($"LUN {record.Lun} is taken by volume '{holder}'");
            }

            if (attempt == MaxAttempts)
            {
                throw new VolumeDirectoryException($"volume '{record.Name}': no free LUN could be claimed after {MaxAttempts} attempts (concurrent creations)");
            }
        }
    }

    /// <summary>Every volume, ordered by LUN, and the revision they were read at. A malformed record throws <see cref="MalformedMetadataException"/>.</summary>
    public async Task<(IReadOnlyList<VolumeRecord> Volumes, long Revision)> ListAsync(CancellationToken cancellationToken = default)
    {
        var range = await store.GetRangeAsync(MetadataKeys.Volumes, cancellationToken).ConfigureAwait(false);
        return (range.Entries.Select(Decode).OrderBy(v => v.Lun).ToList(), range.Revision);
    }

    public async Task<VolumeRecord?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        var entry = await store.GetAsync(MetadataKeys.Volume(VolumeRecord.KeyOf(id)), cancellationToken).ConfigureAwait(false);
        return entry is null ? null : Decode(entry);
    }

    /// <summary>The volume named exactly <paramref name="name"/>, or null.</summary>
    public async Task<VolumeRecord?> FindAsync(string name, CancellationToken cancellationToken = default)
    {
        var (volumes, _) = await ListAsync(cancellationToken).ConfigureAwait(false);
        return volumes.FirstOrDefault(v => v.Name == name);
    }

    /// <summary>
    /// Deletes the volume named <paramref name="name"/> with its claims, ownership records and SCSI
    /// context, in one transaction. Throws <see cref="VolumeDirectoryException"/> when there is none.
    /// The chunks on the nodes are the nodes' business (they see the record's delete event).
    /// </summary>
    public async Task<VolumeRecord> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            var range = await store.GetRangeAsync(MetadataKeys.Volumes, cancellationToken).ConfigureAwait(false);
            var found = range.Entries.Select(e => (Entry: e, Record: Decode(e))).FirstOrDefault(x => x.Record.Name == name);
            if (found.Entry is null)
            {
                throw new VolumeDirectoryException($"no volume named '{name}'");
            }

            var record = found.Record;
            var result = await store.TxnAsync(
                [Compare.ModRevision(found.Entry.Key, CompareOp.Equal, found.Entry.ModRevision)],
                [
                    TxnOp.Delete(found.Entry.Key),
                    TxnOp.Delete(MetadataKeys.VolumeNameClaim(record.Name)),
                    TxnOp.Delete(MetadataKeys.VolumeLunClaim(record.Lun)),
                    TxnOp.DeletePrefix(MetadataKeys.OwnersOf(record.Key)),
                    TxnOp.Delete(MetadataKeys.Context + record.Key),
                    TxnOp.DeletePrefix(MetadataKeys.Context + record.Key + "/"),
                ],
                [],
                cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return record;
            }

            if (attempt == MaxAttempts)
            {
                throw new VolumeDirectoryException($"volume '{name}' kept changing during delete ({MaxAttempts} attempts)");
            }
        }
    }

    /// <summary>Decodes and checks one record; the error names the key and what is wrong.</summary>
    public static VolumeRecord Decode(KeyValueEntry entry)
    {
        VolumeRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(entry.Value.Span, MetadataJsonContext.Default.VolumeRecord);
        }
        catch (JsonException e)
        {
            // JsonException names the missing required property or the bad token and its position.
            throw new MalformedMetadataException(entry.Key, e.Message, e);
        }

        if (record is null)
        {
            throw new MalformedMetadataException(entry.Key, "value is JSON null");
        }

        if (record.Problem() is { } problem)
        {
            throw new MalformedMetadataException(entry.Key, problem);
        }

        if (entry.Key != MetadataKeys.Volumes + record.Key)
        {
            throw new MalformedMetadataException(entry.Key, $"holds volume id {record.Key}, not the one in its key");
        }

        return record;
    }

    private async Task<int> LowestFreeLunAsync(CancellationToken cancellationToken)
    {
        string prefix = MetadataKeys.VolumeClaims + "lun/";
        var range = await store.GetRangeAsync(prefix, cancellationToken).ConfigureAwait(false);
        var used = new HashSet<int>();
        foreach (var e in range.Entries)
        {
            if (int.TryParse(e.Key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int lun))
            {
                used.Add(lun);
            }
        }

        for (int lun = 0; lun <= Storage.VolumeCatalog.MaxLun; lun++)
        {
            if (!used.Contains(lun))
            {
                return lun;
            }
        }

        throw new VolumeDirectoryException($"all {Storage.VolumeCatalog.MaxLun + 1} LUNs are in use");
    }

    private async Task<string> ClaimHolderNameAsync(KeyValueEntry claim, CancellationToken cancellationToken)
    {
        string id = System.Text.Encoding.UTF8.GetString(claim.Value.Span);
        var entry = await store.GetAsync(MetadataKeys.Volumes + id, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return id;
        }

        try
        {
            return Decode(entry).Name;
        }
        catch (MalformedMetadataException)
        {
            return id;
        }
    }
}
