using System.Text.Json.Serialization;

namespace Tessera.Storage;

/// <summary>Source-generated JSON for every file this assembly writes (no reflection, trim-safe).</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(CatalogManifest))]
[JsonSerializable(typeof(NodeSettings))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
