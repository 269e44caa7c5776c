namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>A logical sub-unit (group of stripes) of a volume: the unit of ownership.</summary>
internal readonly record struct SubunitId(string Volume, int Index)
{
    public string Key => MetadataKeys.Owner(Volume, Index);

    public override string ToString() => $"{Volume}/{Index}";
}
