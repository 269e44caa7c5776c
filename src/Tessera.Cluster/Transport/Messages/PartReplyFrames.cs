using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// The one-way replies around an ordered owner part (docs/distributed-volume.md §12), all big-endian:
/// <code>
/// 102 VolumePartDone     owner → portal   request id (8), owner (4), status (2), miscompare (4), error payload (rest)
/// 103 VolumeCawVote      owner → portal   request id (8), voter (4), miscompare (4; −1 = equal)
/// 104 VolumeCawDecision  portal → owner   request id (8), decision (1: 0 = miscompare, write nothing; 1 = write; 2 = aborted, a part failed)
/// </code>
/// The miscompare is an offset in the portal's request buffer. The error payload of a part that
/// failed is <see cref="VolumeErrors"/>' for its status.
/// </summary>
internal static class PartReplyFrames
{
    public const int PartDoneSize = 18;
    public const int VoteSize = 16;
    public const int DecisionSize = 9;

    public static void WritePartDone(IBufferWriter<byte> writer, RequestId id, NodeId owner, ushort status, int miscompare)
    {
        Span<byte> span = writer.GetSpan(PartDoneSize);
        BinaryPrimitives.WriteUInt64BigEndian(span, id.Value);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], owner.Value);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], status);
        BinaryPrimitives.WriteInt32BigEndian(span[14..], miscompare);
        writer.Advance(PartDoneSize);
    }

    public static bool TryReadPartDone(ReadOnlySpan<byte> payload, out RequestId id, out NodeId owner, out ushort status, out int miscompare, out ReadOnlySpan<byte> error)
    {
        if (payload.Length < PartDoneSize)
        {
            id = default;
            owner = default;
            status = 0;
            miscompare = 0;
            error = default;
            return false;
        }

        id = new RequestId(BinaryPrimitives.ReadUInt64BigEndian(payload));
        owner = new NodeId(BinaryPrimitives.ReadInt32BigEndian(payload[8..]));
        status = BinaryPrimitives.ReadUInt16BigEndian(payload[12..]);
        miscompare = BinaryPrimitives.ReadInt32BigEndian(payload[14..]);
        error = payload[PartDoneSize..];
        return miscompare >= -1 && (status != 0 || error.IsEmpty);
    }

    public static void WriteVote(IBufferWriter<byte> writer, RequestId id, NodeId voter, int miscompare)
    {
        Span<byte> span = writer.GetSpan(VoteSize);
        BinaryPrimitives.WriteUInt64BigEndian(span, id.Value);
        BinaryPrimitives.WriteInt32BigEndian(span[8..], voter.Value);
        BinaryPrimitives.WriteInt32BigEndian(span[12..], miscompare);
        writer.Advance(VoteSize);
    }

    public static bool TryReadVote(ReadOnlySpan<byte> payload, out RequestId id, out NodeId voter, out int miscompare)
    {
        if (payload.Length != VoteSize)
        {
            (id, voter, miscompare) = (default, default, 0);
            return false;
        }

        id = new RequestId(BinaryPrimitives.ReadUInt64BigEndian(payload));
        voter = new NodeId(BinaryPrimitives.ReadInt32BigEndian(payload[8..]));
        miscompare = BinaryPrimitives.ReadInt32BigEndian(payload[12..]);
        return miscompare >= -1;
    }

    public static void WriteDecision(IBufferWriter<byte> writer, RequestId id, CawDecision decision)
    {
        Span<byte> span = writer.GetSpan(DecisionSize);
        BinaryPrimitives.WriteUInt64BigEndian(span, id.Value);
        span[8] = (byte)decision;
        writer.Advance(DecisionSize);
    }

    public static bool TryReadDecision(ReadOnlySpan<byte> payload, out RequestId id, out CawDecision decision)
    {
        if (payload.Length != DecisionSize || payload[8] > (byte)CawDecision.Abort)
        {
            (id, decision) = (default, CawDecision.Abort);
            return false;
        }

        id = new RequestId(BinaryPrimitives.ReadUInt64BigEndian(payload));
        decision = (CawDecision)payload[8];
        return true;
    }
}

/// <summary>The portal's decision in a multi-owner COMPARE AND WRITE (SBC-4 5.3: all owners write, or none).</summary>
internal enum CawDecision : byte
{
    /// <summary>Somebody miscompared: nobody writes, the command reports the miscompare.</summary>
    Skip = 0,

    /// <summary>Every owner compared equal: write.</summary>
    Write = 1,

    /// <summary>A part failed: nobody writes, the command fails (and is retried).</summary>
    Abort = 2,
}
