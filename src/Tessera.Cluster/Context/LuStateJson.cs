using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// The committed form of a <see cref="LuState"/>: UTF-8 JSON (the same shape <c>LocalLuContext</c> writes).
/// Reflection-based on purpose: the source generator treats init-only properties like constructor
/// parameters and sets every member missing from the document to null, so a document written before a
/// member existed would not decode; reflection keeps the member's default instead. Derived members
/// (<see cref="LuState.IsQuiet"/>, the decoded mode-page bits, <see cref="AluaState.AllActive"/>) are not
/// written: the init accessors recompute them when the state is read back.
/// </summary>
internal static class LuStateJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static byte[] Serialize(LuState state) => JsonSerializer.SerializeToUtf8Bytes(state, Options);

    public static LuState Deserialize(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<LuState>(json, Options)
                ?? throw new InvalidDataException("null LU context document");
        }
        catch (JsonException e)
        {
            // A context nobody can read must stop the LU, never be replaced by a default.
            throw new InvalidDataException($"committed LU context is unreadable: {e.Message}", e);
        }
    }

    /// <summary>The other records kept under a context key (abort orders and reports), same options.</summary>
    public static byte[] SerializeRecord<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public static T DeserializeRecord<T>(ReadOnlySpan<byte> json)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"null {typeof(T).Name}");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"unreadable {typeof(T).Name}: {e.Message}", e);
        }
    }
}
