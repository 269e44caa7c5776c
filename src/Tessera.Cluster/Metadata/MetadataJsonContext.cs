using System.Text.Json.Serialization;
using Tessera.Cluster.Metadata.Membership;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Volumes;

namespace Tessera.Cluster.Metadata;

/// <summary>Source-generated JSON for the records this folder stores (no run-time reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(NodeRecord))]
[JsonSerializable(typeof(OwnerRecord))]
[JsonSerializable(typeof(AppliedAck))]
[JsonSerializable(typeof(VolumeRecord))]
internal sealed partial class MetadataJsonContext : JsonSerializerContext
{
}
