using System.Collections.Concurrent;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Volume;

/// <summary>
/// An owner's vote in a multi-owner COMPARE AND WRITE whose portal is another node
/// (docs/distributed-volume.md §12): <see cref="ReportAsync"/> sends the compare to the portal as a
/// VolumeCawVote frame and waits for its VolumeCawDecision. The owner holds its stripe locks
/// meanwhile, as in process; the wait ends with the decision, the portal leaving, or the deadline
/// (then nobody is written here, and the portal's own deadline fails the request).
/// </summary>
internal sealed class RemoteCompareAndWriteVote : ICompareAndWriteVote
{
    private readonly TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly NodeId _self;
    private readonly PeerLinkSet _links;
    private readonly ConcurrentDictionary<RequestId, RemoteCompareAndWriteVote> _waiting;
    private readonly Func<int, int> _toRequestOffset;

    public RemoteCompareAndWriteVote(NodeId self, NodeId origin, RequestId id, PeerLinkSet links,
        ConcurrentDictionary<RequestId, RemoteCompareAndWriteVote> waiting, Func<int, int> toRequestOffset, long deadlineTicks)
    {
        _self = self;
        Origin = origin;
        Id = id;
        _links = links;
        _waiting = waiting;
        _toRequestOffset = toRequestOffset;
        DeadlineTicks = deadlineTicks;
    }

    public NodeId Origin { get; }

    public RequestId Id { get; }

    public long DeadlineTicks { get; }

    public Task<bool> ReportAsync(int miscompare)
    {
        if (!_waiting.TryAdd(Id, this))
        {
            return Task.FromException<bool>(new InvalidOperationException($"{_self}: a vote for {Id} is already waiting"));
        }

        try
        {
            _links.Control(Origin).Post(MessageType.VolumeCawVote, (Id, Voter: _self, Miscompare: _toRequestOffset(miscompare)),
                static (writer, v) => PartReplyFrames.WriteVote(writer, v.Id, v.Voter, v.Miscompare));
        }
        catch (Exception ex)
        {
            Abort(new NodeUnavailableException(Origin, ex));
        }

        return _decision.Task;
    }

    /// <summary>The portal's decision arrived.</summary>
    public void Decide(CawDecision decision)
    {
        _waiting.TryRemove(new KeyValuePair<RequestId, RemoteCompareAndWriteVote>(Id, this));
        if (decision != CawDecision.Abort)
        {
            _decision.TrySetResult(decision == CawDecision.Write);
        }
        else
        {
            _decision.TrySetException(new IOException($"compare and write {Id}: the portal {Origin} aborted it (another owner's part failed)"));
        }
    }

    public void Abort(Exception reason)
    {
        _waiting.TryRemove(new KeyValuePair<RequestId, RemoteCompareAndWriteVote>(Id, this));
        _decision.TrySetException(reason);
    }
}
