namespace Tessera.Cluster.Metadata;

/// <summary>
/// The key layout under /tessera (docs/metadata-store.md). All cluster state lives under
/// <see cref="Root"/> so one prefix watch sees everything and another tenant may share etcd.
/// </summary>
internal static class MetadataKeys
{
    public const string Root = "/tessera/";

    /// <summary>Live nodes, one lease-bound key each: /tessera/nodes/&lt;node&gt;.</summary>
    public const string Nodes = Root + "nodes/";

    /// <summary>Sub-unit ownership: /tessera/owners/&lt;volume&gt;/&lt;subunit&gt; = {node, epoch, state}.</summary>
    public const string Owners = Root + "owners/";

    /// <summary>Per-node applied-revision acknowledgements: /tessera/acks/&lt;node&gt;.</summary>
    public const string Acks = Root + "acks/";

    /// <summary>Volume definitions: /tessera/volumes/&lt;volume&gt;.</summary>
    public const string Volumes = Root + "volumes/";

    /// <summary>Replicated SCSI context per LU: /tessera/context/&lt;volume&gt;/...</summary>
    public const string Context = Root + "context/";

    /// <summary>
    /// Uniqueness claims of volumes, created in the same transaction as the volume record:
    /// /tessera/volume-claims/name/&lt;lower-case name&gt; and /tessera/volume-claims/lun/&lt;lun&gt;, value = volume id.
    /// </summary>
    public const string VolumeClaims = Root + "volume-claims/";

    public static string Volume(string volumeId) => Volumes + CheckSegment(volumeId);

    // Names are unique ignoring case (as in the node-local catalog), so the claim key is lower case.
    public static string VolumeNameClaim(string name) => VolumeClaims + "name/" + CheckSegment(name.ToLowerInvariant());

    public static string VolumeLunClaim(int lun) => VolumeClaims + "lun/" + lun.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Node(string nodeId) => Nodes + CheckSegment(nodeId);

    public static string Ack(string nodeId) => Acks + CheckSegment(nodeId);

    public static string OwnersOf(string volume) => Owners + CheckSegment(volume) + "/";

    // Fixed-width decimal so key order equals sub-unit order in range reads.
    public static string Owner(string volume, int subunit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(subunit);
        return OwnersOf(volume) + subunit.ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A path segment must be non-empty and must not contain '/' (it would alias another key).</summary>
    public static string CheckSegment(string segment)
    {
        if (string.IsNullOrEmpty(segment) || segment.Contains('/'))
        {
            throw new ArgumentException($"invalid key segment '{segment}'", nameof(segment));
        }

        return segment;
    }
}
