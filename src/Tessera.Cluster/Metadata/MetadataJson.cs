using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Tessera.Cluster.Metadata;

/// <summary>
/// JSON value helpers. Callers pass source-generated <see cref="JsonTypeInfo{T}"/> (see
/// <see cref="MetadataJsonContext"/>) so nothing reflects at run time.
/// </summary>
internal static class MetadataJson
{
    public static byte[] Serialize<T>(T value, JsonTypeInfo<T> typeInfo) => JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);

    public static T Deserialize<T>(ReadOnlyMemory<byte> value, JsonTypeInfo<T> typeInfo) =>
        JsonSerializer.Deserialize(value.Span, typeInfo) ?? throw new MetadataStoreException($"null JSON for {typeof(T).Name}");

    public static Task<long> PutJsonAsync<T>(this IMetadataStore store, string key, T value, JsonTypeInfo<T> typeInfo, long leaseId = 0, CancellationToken cancellationToken = default) =>
        store.PutAsync(key, Serialize(value, typeInfo), leaseId, cancellationToken);

    /// <summary>The decoded value and its entry, or null when the key is absent.</summary>
    public static async Task<(T Value, KeyValueEntry Entry)?> GetJsonAsync<T>(this IMetadataStore store, string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        var entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? null : (Deserialize(entry.Value, typeInfo), entry);
    }

    public static TxnOp PutJson<T>(string key, T value, JsonTypeInfo<T> typeInfo, long leaseId = 0) => TxnOp.Put(key, Serialize(value, typeInfo), leaseId);
}
