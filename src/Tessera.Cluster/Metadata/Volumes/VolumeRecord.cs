using System.Globalization;
using Tessera.Cluster.Volume;
using Tessera.Storage;

namespace Tessera.Cluster.Metadata.Volumes;

/// <summary>
/// /tessera/volumes/&lt;volume-id&gt;: everything a node needs to serve a distributed volume, and to
/// find its chunks again after a restart. <see cref="Placement"/> is the ordered list of node ids
/// the columns rotate over: <see cref="VolumeLayout"/> is built with <c>Placement.Count</c> nodes,
/// and its node index i (a <see cref="Ordering.NodeId"/> of value i, also the token-ordering rank)
/// is <c>Placement[i]</c>. The placement never changes after creation (re-striping is out of scope).
/// </summary>
internal sealed record VolumeRecord
{
    /// <summary>Version of this record's shape; a reader refuses versions it does not know.</summary>
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required Guid Id { get; init; }

    public required string Name { get; init; }

    public required int Lun { get; init; }

    public required long SizeBytes { get; init; }

    /// <summary>Logical block size (512 or 4096).</summary>
    public required int BlockSize { get; init; }

    /// <summary>Physical block size reported by READ CAPACITY (16) (SBC-4 5.21.2); equals <see cref="BlockSize"/> unless set.</summary>
    public required int PhysicalBlockSize { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>K: data columns per stripe; each stripe also has a row and a diagonal parity column.</summary>
    public required int DataColumns { get; init; }

    /// <summary>C: bytes of one column of one stripe.</summary>
    public required int ChunkSize { get; init; }

    /// <summary>G: stripes per sub-unit (the unit of ownership).</summary>
    public required int StripesPerSubUnit { get; init; }

    /// <summary>Node ids, in node-index order (see the type summary).</summary>
    public required IReadOnlyList<string> Placement { get; init; }

    public DateTimeOffset Created { get; init; }

    /// <summary>The key segment of <see cref="Id"/> under /tessera/volumes/, /tessera/owners/ and /tessera/context/.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Key => KeyOf(Id);

    public static string KeyOf(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    /// <summary>The geometry the data path uses; node index i is <see cref="Placement"/>[i].</summary>
    public VolumeLayout ToLayout() => new(Id, SizeBytes, BlockSize, Placement.Count, DataColumns, ChunkSize, StripesPerSubUnit);

    /// <summary>Node index of <paramref name="nodeId"/> in the placement, or -1.</summary>
    public int IndexOf(string nodeId)
    {
        for (int i = 0; i < Placement.Count; i++)
        {
            if (string.Equals(Placement[i], nodeId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The problem with this record, or null when it is well-formed. One precise sentence.</summary>
    public string? Problem()
    {
        if (Format != CurrentFormat)
        {
            return $"format {Format} is not supported (this build reads format {CurrentFormat})";
        }

        if (Id == Guid.Empty)
        {
            return "id is empty";
        }

        if (NameProblem(Name) is { } name)
        {
            return name;
        }

        if (Lun is < 0 or > VolumeCatalog.MaxLun)
        {
            return $"LUN {Lun} is outside 0..{VolumeCatalog.MaxLun}";
        }

        if (BlockSize is not (512 or 4096))
        {
            return $"block size {BlockSize} is not 512 or 4096";
        }

        if (SizeBytes <= 0 || SizeBytes % BlockSize != 0)
        {
            return $"size {SizeBytes} is not a positive multiple of the {BlockSize}-byte block size";
        }

        if (PhysicalBlockSize < BlockSize || PhysicalBlockSize > VolumeCatalog.MaxPhysicalBlockSize || !int.IsPow2(PhysicalBlockSize))
        {
            return $"physical block size {PhysicalBlockSize} is not a power of two from {BlockSize} to {VolumeCatalog.MaxPhysicalBlockSize}";
        }

        if (Placement is null || Placement.Count == 0)
        {
            return "placement is empty";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string node in Placement)
        {
            if (string.IsNullOrEmpty(node) || node.Contains('/'))
            {
                return $"placement names an invalid node id '{node}'";
            }

            if (!seen.Add(node))
            {
                return $"placement names node '{node}' twice";
            }
        }

        if (Placement.Count < DataColumns + 2)
        {
            return $"{DataColumns} data columns plus 2 parity columns need {DataColumns + 2} nodes, the placement has {Placement.Count}";
        }

        try
        {
            _ = ToLayout();
        }
        catch (ArgumentException e)
        {
            // VolumeLayout / ParityGeometry name the bad value and a good one.
            return $"geometry (K {DataColumns}, chunk {ChunkSize}, {StripesPerSubUnit} stripes per sub-unit): {FirstLine(e.Message)}";
        }

        return null;
    }

    /// <summary>Why <paramref name="name"/> is not a valid volume name (same rule as the node-local catalog), or null.</summary>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > VolumeCatalog.MaxNameLength)
        {
            return $"volume name '{name}' must be 1 to {VolumeCatalog.MaxNameLength} characters";
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"volume name '{name}': character '{c}' is not allowed (use letters, digits, '.', '_' and '-')";
            }
        }

        return null;
    }

    // ArgumentException appends " (Parameter 'x')" and the actual value on new lines.
    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
