using Tessera.Cluster.Metadata;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// One committed version of an LU context: the state, its JSON exactly as stored (compared bytewise to
/// detect "no change" and written as is), and the store revision that last wrote it.
/// </summary>
internal sealed record CommittedLuState(LuState State, byte[] Json, long ModRevision)
{
    public static CommittedLuState Decode(KeyValueEntry entry) =>
        new(LuStateJson.Deserialize(entry.Value.Span), entry.Value.ToArray(), entry.ModRevision);
}
