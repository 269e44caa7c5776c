using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Metadata.Volumes;

/// <summary>What <see cref="VolumeDirectory.CreateAsync"/> is asked for; unset fields take the defaults.</summary>
internal sealed record VolumeSpec(string Name, long SizeBytes)
{
    public int BlockSize { get; init; } = 512;

    /// <summary>0 = the logical block size.</summary>
    public int PhysicalBlockSize { get; init; }

    public bool ReadOnly { get; init; }

    public int DataColumns { get; init; } = VolumeLayout.DefaultDataColumns;

    public int ChunkSize { get; init; } = VolumeLayout.DefaultChunkSize;

    public int StripesPerSubUnit { get; init; } = VolumeLayout.DefaultStripesPerSubUnit;

    /// <summary>null = the lowest free LUN.</summary>
    public int? Lun { get; init; }

    /// <summary>null = a new UUID; set to keep an existing identity (VPD 0x83) and its chunk files.</summary>
    public Guid? Id { get; init; }
}
