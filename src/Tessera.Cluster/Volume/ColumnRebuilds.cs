using System.Collections.Concurrent;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// One node's owner-side state of rebuilds of stale nodes' columns (docs/cluster-node.md, "Stale
/// columns"). Per stale node X, a session begun by the coordinator (<see cref="Begin"/>) holds:
/// <list type="bullet">
/// <item>the stripes whose X column this node, as their owner, has rebuilt under the stripe lock —
/// from then on its owner treats that column as current and keeps writing it
/// (<see cref="RebuildingOwnerLiveness"/>); portals keep going through owners;</item>
/// <item>the volumes open here when the session began ("covered"): the coordinator lists volumes only
/// after every node began, so it rebuilds every sub-unit of each of them, and a write that skips X's
/// column in a covered volume while X is up is repaired by that later rebuild;</item>
/// <item>"armed": any other write that skips X's column — X down, a volume opened later, a stripe whose
/// rebuilt state was dropped — puts the stale record again before it is acknowledged, once per session
/// (every later skip waits for that put), which changes the record's mod revision so the
/// coordinator's conditional delete fails and a new session starts over.</item>
/// </list>
/// A membership change drops the rebuilt stripes and the covered volumes (<see cref="DropAll"/>) but
/// keeps the session armed. A session belongs to one staleness of X: when X's stale flag changes here
/// (<see cref="StaleColumnLiveness.Generation"/>) it is void.
/// </summary>
internal sealed class ColumnRebuilds(StaleColumnLiveness? stale)
{
    private readonly ConcurrentDictionary<int, Session> _sessions = new();
    private int _active;

    /// <summary>Whether any session exists (cheap check for the I/O path).</summary>
    public bool Any => Volatile.Read(ref _active) != 0;

    /// <summary>
    /// Starts (or restarts) the session for stale <paramref name="node"/>: armed, covering
    /// <paramref name="openVolumes"/>, nothing rebuilt yet.
    /// </summary>
    public void Begin(NodeId node, IEnumerable<Guid> openVolumes)
    {
        if (stale is null)
        {
            throw new InvalidOperationException("this node does not track stale columns: nothing to rebuild");
        }

        if (!stale.IsStale(node))
        {
            // Not (yet) stale here: the record is read every second; the coordinator tries again.
            throw new InvalidOperationException($"node {node} is not stale on this node (yet)");
        }

        var session = new Session(stale.Generation(node), [.. openVolumes]);
        _sessions[node.Value] = session;
        Volatile.Write(ref _active, 1);
    }

    /// <summary>
    /// The set to mark <paramref name="volume"/>'s rebuilt stripes of <paramref name="node"/> in;
    /// throws when there is no valid session covering the volume.
    /// </summary>
    public RebuiltStripes Rebuilding(NodeId node, VolumeLayout layout)
    {
        Session session = Valid(node) ?? throw new InvalidOperationException($"no rebuild of node {node} is under way here (not begun, or aborted by a membership change)");
        lock (session)
        {
            if (!session.Covered.Contains(layout.VolumeId))
            {
                throw new InvalidOperationException($"volume {layout.VolumeId} is not covered by the rebuild of node {node} here (opened later, or aborted)");
            }

            if (!session.Rebuilt.TryGetValue(layout.VolumeId, out RebuiltStripes? set))
            {
                set = new RebuiltStripes(layout.StripeCount, session);
                session.Rebuilt[layout.VolumeId] = set;
            }

            return set;
        }
    }

    /// <summary>Whether this node, as owner, rebuilt <paramref name="node"/>'s column of the stripe in the current session.</summary>
    public bool IsRebuilt(Guid volume, NodeId node, long stripe) =>
        Valid(node) is { } session && session.Rebuilt.TryGetValue(volume, out RebuiltStripes? set) && set.Contains(stripe);

    /// <summary>
    /// A write is about to skip stale <paramref name="node"/>'s column in <paramref name="volume"/>:
    /// completes at once when the session will repair it (or there is none), else once the stale
    /// record has been put again.
    /// </summary>
    public ValueTask BeforeDegradedWriteAsync(Guid volume, NodeId node, CancellationToken cancellationToken)
    {
        if (stale is null || Valid(node) is not { } session)
        {
            return ValueTask.CompletedTask;
        }

        Task? marking;
        lock (session)
        {
            if (session.Armed && !(session.Covered.Contains(volume) && stale.IsUp(node)))
            {
                session.Armed = false;
                session.Marking = MarkAgainAsync(session, node, cancellationToken);
            }

            marking = session.Marking;
        }

        return marking is null || marking.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(marking);
    }

    /// <summary>
    /// Membership changed: every session's rebuilt stripes and covered volumes are dropped (their
    /// columns are stale again; sub-unit rebuilds under way stop), sessions stay armed.
    /// </summary>
    public void DropAll()
    {
        foreach (Session session in _sessions.Values)
        {
            lock (session)
            {
                session.Aborted = true;
                session.Covered.Clear();
                session.Rebuilt.Clear();
            }
        }
    }

    private Session? Valid(NodeId node) =>
        stale is not null && _sessions.TryGetValue(node.Value, out Session? session) && session.Generation == stale.Generation(node) ? session : null;

    private async Task MarkAgainAsync(Session session, NodeId node, CancellationToken cancellationToken)
    {
        try
        {
            await stale!.MarkStaleAsync(node, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (session)
            {
                session.Armed = true;   // the next skip tries again
            }

            throw;
        }
    }

    /// <summary>One staleness of one node, seen from here.</summary>
    internal sealed class Session(long generation, HashSet<Guid> covered)
    {
        public long Generation { get; } = generation;

        public HashSet<Guid> Covered { get; } = covered;

        public ConcurrentDictionary<Guid, RebuiltStripes> Rebuilt { get; } = new();

        public bool Armed { get; set; } = true;

        private int _aborted;

        public bool Aborted
        {
            get => Volatile.Read(ref _aborted) != 0;
            set => Volatile.Write(ref _aborted, value ? 1 : 0);
        }

        public Task? Marking { get; set; }
    }
}
