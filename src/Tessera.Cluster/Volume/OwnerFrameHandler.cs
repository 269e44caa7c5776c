using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Messages;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Volume;

/// <summary>
/// A node's owner service, types 100-104 (docs/distributed-volume.md §12):
/// <list type="bullet">
/// <item>100 VolumeOwnerPart: executed by the volume's <see cref="SubUnitOwner"/> while the request
/// waits; write data is used in place in the received frame, read data goes straight into the
/// pooled response (single-segment parts allocate nothing here);</item>
/// <item>101 VolumeOrderedPart: its bytes copied to a pooled buffer, handed to the owner (which
/// queues it for token ordering) and answered later by PartDone — the handler never waits, so a
/// part waiting for its turn holds no window slot;</item>
/// <item>102 PartDone and 103 CawVote on the portal side, 104 CawDecision on the owner side.</item>
/// </list>
/// </summary>
internal sealed class OwnerFrameHandler : IFrameHandler
{
    /// <summary>Reads through an owner are degraded reads of at most a chunk; this only bounds the response buffer.</summary>
    private const int MaxReadPart = 64 << 20;

    private readonly NodeId _self;
    private readonly Func<Guid, SubUnitOwner?> _owners;
    private readonly INodeLiveness _liveness;
    private readonly PeerLinkSet _links;
    private readonly OrderedPartTable _ordered;
    private readonly ConcurrentDictionary<RequestId, RemoteCompareAndWriteVote> _votes;
    private readonly TimeSpan _voteTimeout;
    private readonly ILogger _log;

    public OwnerFrameHandler(NodeId self, Func<Guid, SubUnitOwner?> owners, INodeLiveness liveness, PeerLinkSet links, OrderedPartTable ordered,
        ConcurrentDictionary<RequestId, RemoteCompareAndWriteVote> votes, TimeSpan voteTimeout, ILogger? log = null)
    {
        _self = self;
        _owners = owners;
        _liveness = liveness;
        _links = links;
        _ordered = ordered;
        _votes = votes;
        _voteTimeout = voteTimeout;
        _log = log ?? NullLogger.Instance;
    }

    public static void RegisterOn(InterNodeServer server, OwnerFrameHandler handler)
    {
        for (ushort type = MessageType.VolumeOwnerPart; type <= MessageType.VolumeCawDecision; type++)
        {
            server.Register(type, handler);
        }
    }

    public ValueTask<FrameStatus> HandleAsync(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        switch (frame.MessageType)
        {
            case MessageType.VolumeOwnerPart:
                return HandlePart(frame, response, cancellationToken);
            case MessageType.VolumeOrderedPart:
                HandleOrderedPart(frame);
                break;
            case MessageType.VolumePartDone:
                if (!PartReplyFrames.TryReadPartDone(frame.Payload.Span, out RequestId id, out NodeId owner, out ushort status, out int miscompare, out ReadOnlySpan<byte> error))
                {
                    throw Malformed(frame);
                }

                if (status == 0)
                {
                    _ordered.Complete(id, owner, miscompare);
                }
                else
                {
                    _ordered.Fail(id, owner, VolumeErrors.ToException((FrameStatus)status, error, owner));
                }

                break;
            case MessageType.VolumeCawVote:
                if (!PartReplyFrames.TryReadVote(frame.Payload.Span, out RequestId voteId, out NodeId voter, out int voted))
                {
                    throw Malformed(frame);
                }

                OnVote(voteId, voter, voted);
                break;
            case MessageType.VolumeCawDecision:
                if (!PartReplyFrames.TryReadDecision(frame.Payload.Span, out RequestId decided, out CawDecision decision))
                {
                    throw Malformed(frame);
                }

                if (_votes.TryGetValue(decided, out RemoteCompareAndWriteVote? vote))
                {
                    vote.Decide(decision);
                }

                break;
            default:
                throw new ArgumentException($"message type {frame.MessageType} is not an owner message");
        }

        return ValueTask.FromResult(FrameStatus.Ok);
    }

    /// <summary>Fails the votes waiting for <paramref name="origin"/>'s decision (it left), or all of them.</summary>
    public void AbortVotes(NodeId? origin, Exception reason)
    {
        foreach (RemoteCompareAndWriteVote vote in _votes.Values)
        {
            if (origin is null || vote.Origin == origin)
            {
                vote.Abort(reason);
            }
        }
    }

    /// <summary>Fails votes that waited past their deadline: their locks must not be held forever.</summary>
    public void ExpireVotes(long nowTicks)
    {
        foreach (RemoteCompareAndWriteVote vote in _votes.Values)
        {
            if (vote.DeadlineTicks <= nowTicks)
            {
                vote.Abort(new NodeUnavailableException(vote.Origin, new TimeoutException($"no decision for compare and write {vote.Id}")));
            }
        }
    }

    private ValueTask<FrameStatus> HandlePart(InboundFrame frame, IBufferWriter<byte> response, CancellationToken cancellationToken)
    {
        OwnerRequest? request = null;
        bool pooled = false;
        try
        {
            if (!_liveness.IsUp(_self))
            {
                throw new NodeUnavailableException(_self);
            }

            if (!OwnerPartFrame.TryParse(frame.Payload, out OwnerPartFrame part, out string? error))
            {
                throw new ArgumentException($"malformed owner part from {frame.RemoteNodeId}: {error}");
            }

            if (part.OwnerCount > 0)
            {
                throw new ArgumentException($"ordered part {part.Id} sent as a request (type {MessageType.VolumeOrderedPart} carries those)");
            }

            SubUnitOwner owner = _owners(part.Volume) ?? throw new InvalidOperationException($"volume {part.Volume} is not open on {_self}");
            int readBytes = part.Operation == OwnerOperation.Read ? part.Bytes : 0;
            if (readBytes > MaxReadPart)
            {
                throw new ArgumentException($"read part of {readBytes} bytes exceeds {MaxReadPart}");
            }

            Memory<byte> answer = response.GetMemory(4 + readBytes)[..(4 + readBytes)];
            Memory<byte> destination = answer[4..];
            if (part.SegmentCount == 1)
            {
                request = OwnerRequest.Rent(part.Operation, part.Volume, part.Origin, part.Segment(0, 0), part.Data, part.Compare, destination, part.Flags);
                pooled = true;
            }
            else
            {
                request = part.ToRequest(part.Data, part.Compare, destination);
            }

            ValueTask<int> pending = owner.ExecuteAsync(request, cancellationToken);
            if (pending.IsCompletedSuccessfully)
            {
                int miscompare = pending.Result;
                Release(request, pooled);
                return ValueTask.FromResult(Answer(response, answer, part.ToRequestOffset(miscompare)));
            }

            return FinishPartAsync(pending, part, request, pooled, response, answer);
        }
        catch (Exception ex)
        {
            if (request is not null)
            {
                Release(request, pooled);
            }

            return ValueTask.FromResult(VolumeErrors.Write(response, ex));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<FrameStatus> FinishPartAsync(ValueTask<int> pending, OwnerPartFrame part, OwnerRequest request, bool pooled,
        IBufferWriter<byte> response, Memory<byte> answer)
    {
        try
        {
            int miscompare = await pending.ConfigureAwait(false);
            return Answer(response, answer, part.ToRequestOffset(miscompare));
        }
        catch (Exception ex)
        {
            return VolumeErrors.Write(response, ex);
        }
        finally
        {
            Release(request, pooled);
        }
    }

    /// <summary>Miscompare first, then (for reads) the bytes already in place behind it.</summary>
    private static FrameStatus Answer(IBufferWriter<byte> response, Memory<byte> answer, int miscompare)
    {
        BinaryPrimitives.WriteInt32BigEndian(answer.Span, miscompare);
        response.Advance(answer.Length);
        return FrameStatus.Ok;
    }

    private static void Release(OwnerRequest request, bool pooled)
    {
        if (pooled)
        {
            OwnerRequest.Return(request);
        }
    }

    private void HandleOrderedPart(InboundFrame frame)
    {
        if (!OwnerPartFrame.TryParse(frame.Payload, out OwnerPartFrame part, out string? error) || part.OwnerCount == 0)
        {
            // Without a trustworthy request id there is nobody to answer: the portal's deadline fails the part.
            throw new ArgumentException($"malformed ordered part from {frame.RemoteNodeId}: {error ?? "no owner set"}");
        }

        SubUnitOwner? owner = _owners(part.Volume);
        if (!_liveness.IsUp(_self) || owner is null)
        {
            Exception refusal = owner is null ? new InvalidOperationException($"volume {part.Volume} is not open on {_self}") : new NodeUnavailableException(_self);
            SendDone(part.Origin, part.Id, refusal, -1);
            return;
        }

        // The frame's buffer goes back when this returns; the part lives until it is applied.
        ReadOnlyMemory<byte> area = part.DataArea;
        byte[]? copy = area.Length == 0 ? null : ArrayPool<byte>.Shared.Rent(area.Length);
        area.Span.CopyTo(copy);
        ReadOnlyMemory<byte> data = copy is null || part.Operation is not (OwnerOperation.Write or OwnerOperation.CompareAndWrite) ? default : copy.AsMemory(0, part.Bytes);
        ReadOnlyMemory<byte> compare = part.Operation == OwnerOperation.CompareAndWrite ? copy.AsMemory(part.Bytes, part.Bytes) : default;
        OwnerRequest request = part.ToRequest(data, compare, default);
        long[] requestOffsets = new long[part.SegmentCount];
        for (int i = 0; i < requestOffsets.Length; i++)
        {
            requestOffsets[i] = part.RequestOffset(i);
        }

        int ToRequestOffset(int compact) => MapToRequest(request.Segments, requestOffsets, compact);
        if (part.Operation == OwnerOperation.CompareAndWrite)
        {
            request.Vote = new RemoteCompareAndWriteVote(_self, part.Origin, part.Id, _links, _votes, ToRequestOffset,
                Environment.TickCount64 + (long)_voteTimeout.TotalMilliseconds);
        }

        Task<int> applied;
        try
        {
            applied = owner.ExecuteAsync(request).AsTask();
        }
        catch (Exception ex)
        {
            applied = Task.FromException<int>(ex);
        }

        _ = ReportWhenAppliedAsync(applied, request, copy, ToRequestOffset);
    }

    private async Task ReportWhenAppliedAsync(Task<int> applied, OwnerRequest request, byte[]? copy, Func<int, int> toRequestOffset)
    {
        int miscompare = -1;
        Exception? failure = null;
        try
        {
            miscompare = toRequestOffset(await applied.ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }

        SendDone(request.Origin, request.Id, failure, miscompare);
    }

    private void SendDone(NodeId origin, RequestId id, Exception? failure, int miscompare)
    {
        try
        {
            _links.Control(origin).Post(MessageType.VolumePartDone, (Id: id, Owner: _self, Failure: failure, Miscompare: miscompare), static (writer, d) =>
            {
                ushort status = d.Failure is null ? (ushort)0 : (ushort)VolumeErrors.StatusOf(d.Failure);
                PartReplyFrames.WritePartDone(writer, d.Id, d.Owner, status, d.Failure is null ? d.Miscompare : -1);
                if (d.Failure is not null)
                {
                    VolumeErrors.WritePayload(writer, d.Failure);
                }
            });
        }
        catch (Exception ex)
        {
            _log.LogWarning("{Node}: outcome of ordered part {Request} not sent to {Origin}: {Reason}", _self, id, origin, ex.Message);
        }
    }

    /// <summary>The portal's view of this owner's vote: route it to the request's vote, and the decision back.</summary>
    private void OnVote(RequestId id, NodeId voter, int miscompare)
    {
        ICompareAndWriteVote? vote = _ordered.VoteOf(id, voter);
        if (vote is null)
        {
            // The part already failed here (and the vote with it): the owner must not wait.
            SendDecision(voter, id, CawDecision.Abort);
            return;
        }

        _ = DecideAsync(vote.ReportAsync(miscompare), voter, id);
    }

    private async Task DecideAsync(Task<bool> decision, NodeId voter, RequestId id)
    {
        CawDecision outcome;
        try
        {
            outcome = await decision.ConfigureAwait(false) ? CawDecision.Write : CawDecision.Skip;
        }
        catch (Exception)
        {
            outcome = CawDecision.Abort;
        }

        SendDecision(voter, id, outcome);
    }

    private void SendDecision(NodeId voter, RequestId id, CawDecision decision)
    {
        try
        {
            _links.Control(voter).Post(MessageType.VolumeCawDecision, (Id: id, Decision: decision), static (writer, d) => PartReplyFrames.WriteDecision(writer, d.Id, d.Decision));
        }
        catch (Exception ex)
        {
            _log.LogWarning("{Node}: decision of {Request} not sent to {Voter}: {Reason}", _self, id, voter, ex.Message);
        }
    }

    private static int MapToRequest(OwnerSegment[] compact, long[] requestOffsets, int offset)
    {
        if (offset < 0)
        {
            return offset;
        }

        for (int i = 0; i < compact.Length; i++)
        {
            if (offset < compact[i].BufferOffset + compact[i].Length)
            {
                return checked((int)(requestOffsets[i] + (offset - compact[i].BufferOffset)));
            }
        }

        throw new ArgumentOutOfRangeException(nameof(offset), offset, "outside the part's segments");
    }

    private static ArgumentException Malformed(InboundFrame frame) =>
        new($"malformed owner message (type {frame.MessageType}, {frame.Payload.Length} bytes) from {frame.RemoteNodeId}");
}
