using Tessera.Cluster.Metadata;

namespace Tessera.Cluster.Context;

/// <summary>Where LU contexts live: /tessera/context/&lt;volume-id&gt;, one JSON <c>LuState</c> per LU.</summary>
internal static class ContextKeys
{
    public static string Of(string volumeId) => MetadataKeys.Context + MetadataKeys.CheckSegment(volumeId);

    /// <summary>The volume id of a context key, or null for keys below a volume (reserved for later records).</summary>
    public static string? VolumeOf(string key)
    {
        if (!key.StartsWith(MetadataKeys.Context, StringComparison.Ordinal)) return null;
        string rest = key[MetadataKeys.Context.Length..];
        return rest.Length == 0 || rest.Contains('/') ? null : rest;
    }
}
