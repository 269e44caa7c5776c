namespace Tessera.Storage;

/// <summary>
/// The catalog file (catalog.json). <see cref="Generation"/> increases with every change, so a
/// reader can tell "same content" from "changed" without comparing volume lists.
/// </summary>
internal sealed class CatalogManifest
{
    internal const int CurrentVersion = 1;

    public int Version { get; set; } = CurrentVersion;

    public long Generation { get; set; }

    public List<VolumeInfo> Volumes { get; set; } = [];
}
