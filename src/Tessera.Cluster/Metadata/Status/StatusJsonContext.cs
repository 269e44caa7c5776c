using System.Text.Json.Serialization;

namespace Tessera.Cluster.Metadata.Status;

/// <summary>Source-generated JSON for `tessera status --json`.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ClusterStatusReport))]
internal sealed partial class StatusJsonContext : JsonSerializerContext
{
}
