using Tessera.Cluster.Metadata;

namespace Tessera.Cluster.Context;

/// <summary>Where LU contexts live: /tessera/context/&lt;volume-id&gt;, one JSON <c>LuState</c> per LU.</summary>
internal static class ContextKeys
{
    public static string Of(string volumeId) => MetadataKeys.Context + MetadataKeys.CheckSegment(volumeId);

    /// <summary>The abort order of the latest task-aborting change of the LU: /tessera/context/&lt;volume-id&gt;/abort.</summary>
    public static string AbortOrder(string volumeId) => Of(volumeId) + "/abort";

    /// <summary>Per-node answers to abort orders: /tessera/context/&lt;volume-id&gt;/aborted/&lt;node&gt;.</summary>
    public static string AbortReports(string volumeId) => Of(volumeId) + "/aborted/";

    public static string AbortReport(string volumeId, string nodeId) => AbortReports(volumeId) + MetadataKeys.CheckSegment(nodeId);

    /// <summary>The volume id when <paramref name="key"/> is an abort order key, else null.</summary>
    public static string? VolumeOfAbortOrder(string key)
    {
        if (!key.StartsWith(MetadataKeys.Context, StringComparison.Ordinal) || !key.EndsWith("/abort", StringComparison.Ordinal)) return null;
        string volume = key[MetadataKeys.Context.Length..^"/abort".Length];
        return volume.Length == 0 || volume.Contains('/') ? null : volume;
    }

    /// <summary>The volume id of a context key, or null for keys below a volume (reserved for later records).</summary>
    public static string? VolumeOf(string key)
    {
        if (!key.StartsWith(MetadataKeys.Context, StringComparison.Ordinal)) return null;
        string rest = key[MetadataKeys.Context.Length..];
        return rest.Length == 0 || rest.Contains('/') ? null : rest;
    }
}
