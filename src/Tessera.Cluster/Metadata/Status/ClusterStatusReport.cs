namespace Tessera.Cluster.Metadata.Status;

/// <summary>What `tessera status` shows, read from the metadata store at one revision.</summary>
/// <param name="Source">Which store was read (etcd URL or embedded directory, and its holder).</param>
/// <param name="NodesCurrent">False when node registrations cannot be trusted to be live: an embedded
/// store that no running process holds keeps the registrations of its last run.</param>
/// <param name="Problems">Records that could not be read, one precise line each.</param>
internal sealed record ClusterStatusReport(
    string Source,
    long Revision,
    bool NodesCurrent,
    IReadOnlyList<NodeStatus> Nodes,
    IReadOnlyList<VolumeStatus> Volumes,
    IReadOnlyList<string> Problems);

/// <summary>A node: registered now (live), or named by a placement or an ownership record but not registered (out).</summary>
/// <param name="Incarnation">Create revision of its registration key; 0 when out.</param>
internal sealed record NodeStatus(string Id, bool Live, string? Portal, string? Peer, long Incarnation);

/// <summary>A volume's definition and a compact summary of its sub-unit ownership.</summary>
/// <param name="WithoutLiveOwner">Sub-units no live node holds (never acquired, revoked, released, or held by a node that is out), as ranges "0-3,9".</param>
internal sealed record VolumeStatus(
    Guid Id,
    string Name,
    int Lun,
    long SizeBytes,
    int BlockSize,
    int PhysicalBlockSize,
    bool ReadOnly,
    int DataColumns,
    int ChunkSize,
    int StripesPerSubUnit,
    long SubUnits,
    IReadOnlyList<string> Placement,
    IReadOnlyList<OwnerShare> Owners,
    int Revoked,
    int Released,
    int NeverOwned,
    int WithoutLiveOwnerCount,
    string WithoutLiveOwner);

/// <summary>The sub-units one node holds, and the range of their epochs.</summary>
internal sealed record OwnerShare(string Node, bool Live, int SubUnits, long MinEpoch, long MaxEpoch);
