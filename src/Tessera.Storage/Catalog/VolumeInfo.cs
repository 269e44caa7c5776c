using System.Text.Json.Serialization;

namespace Tessera.Storage;

/// <summary>
/// One volume in a node's catalog. <see cref="Id"/> is the logical unit's identity: the SCSI
/// layer derives the VPD 0x83 NAA designator and the VPD 0x80 serial from it, so it never
/// changes for the life of the volume (and later follows it through migration and replication).
/// </summary>
/// <param name="Name">1..64 characters of [A-Za-z0-9._-], unique in the catalog.</param>
/// <param name="Id">The volume UUID.</param>
/// <param name="SizeBytes">Capacity in bytes, a positive multiple of <paramref name="BlockSize"/>.</param>
/// <param name="BlockSize">Logical block length: 512 or 4096 (see also <see cref="PhysicalBlockSize"/>).</param>
/// <param name="ReadOnly">Write-protected (SBC-4: WP bit, writes fail with DATA PROTECT).</param>
/// <param name="Lun">Logical unit number under the node's target; the lowest free number at creation, never reused while the volume exists.</param>
/// <param name="Created">Creation time (UTC).</param>
public sealed record VolumeInfo(string Name, Guid Id, long SizeBytes, int BlockSize, bool ReadOnly, int Lun, DateTimeOffset Created)
{
    private readonly int _physicalBlockSize;

    /// <summary>
    /// Physical block length: a power-of-two multiple of <see cref="BlockSize"/>, at most
    /// <see cref="VolumeCatalog.MaxPhysicalBlockSize"/>. Larger than <see cref="BlockSize"/> for a
    /// "512e" volume (512-byte logical blocks on 4096-byte physical ones), which the SCSI layer reports
    /// as LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (SBC-4 5.21.2). Catalogs written before this field
    /// existed lack it: it then equals <see cref="BlockSize"/>.
    /// </summary>
    public int PhysicalBlockSize
    {
        get => _physicalBlockSize == 0 ? BlockSize : _physicalBlockSize;
        init => _physicalBlockSize = value;
    }

    private readonly int _dataColumns;

    /// <summary>
    /// Data columns K of each stripe when the volume is served by a cluster: K data plus row and
    /// diagonal parity on K+2 distinct nodes (issue 5). A single node keeps the volume in one file and
    /// ignores it. Catalogs written before this field existed lack it: it then is <see cref="DefaultDataColumns"/>.
    /// </summary>
    public int DataColumns
    {
        get => _dataColumns == 0 ? DefaultDataColumns : _dataColumns;
        // Stored as 0 for the default, so a record read from an older catalog equals the same record written back.
        init => _dataColumns = value == DefaultDataColumns ? 0 : value;
    }

    /// <summary>4 data + 2 parity: the smallest cluster (6 nodes) takes it.</summary>
    public const int DefaultDataColumns = 4;

    /// <summary>Parity codec bounds (Tessera.Parity: k from 2 to 30).</summary>
    public const int MinDataColumns = 2, MaxDataColumns = 30;

    /// <summary>Number of logical blocks.</summary>
    [JsonIgnore]
    public long BlockCount => SizeBytes / BlockSize;
}
