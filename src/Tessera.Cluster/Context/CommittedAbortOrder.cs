using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>
/// What /tessera/context/&lt;volume&gt;/abort holds: a Tessera.Scsi <see cref="TaskAbortOrder"/> and the node that
/// committed it — that node aborts its own tasks itself (only it knows which task gave the order), the
/// others abort theirs when they apply the revision.
/// </summary>
internal sealed record CommittedAbortOrder(TaskAbortOrder Order, string OriginNode);
