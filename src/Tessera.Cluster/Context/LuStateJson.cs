using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// The committed form of a <see cref="LuState"/>: UTF-8 JSON from a source-generated context (no run-time
/// reflection; every node decodes every committed revision of the LUs it serves). Derived members
/// (<see cref="LuState.IsQuiet"/>, the decoded mode-page bits, <see cref="AluaState.AllActive"/>) are not
/// written: the init accessors recompute them when the state is read back.
/// </summary>
internal static class LuStateJson
{
    public static byte[] Serialize(LuState state) => JsonSerializer.SerializeToUtf8Bytes(state, LuStateJsonContext.Default.LuState);

    public static LuState Deserialize(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, LuStateJsonContext.Default.LuState)
                ?? throw new InvalidDataException("null LU context document");
        }
        catch (JsonException e)
        {
            // A context nobody can read must stop the LU, never be replaced by a default.
            throw new InvalidDataException($"committed LU context is unreadable: {e.Message}", e);
        }
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LuState))]
internal sealed partial class LuStateJsonContext : JsonSerializerContext
{
}
