using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tessera.Cluster.Ordering;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Volume;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Exceptions of the volume code ↔ <see cref="VolumeStatus"/> and its payload, so a failure on the
/// peer surfaces on the asking node as the same exception type (the portal's retry loop keys on
/// <see cref="NodeUnavailableException"/> and <see cref="StaleOwnershipException"/>).
/// </summary>
internal static class VolumeErrors
{
    /// <summary>Error texts are cut here: they are diagnostics, not data.</summary>
    private const int MaxTextBytes = 1024;

    /// <summary>Writes the payload describing <paramref name="error"/> and returns the status to send.</summary>
    public static FrameStatus Write(IBufferWriter<byte> writer, Exception error)
    {
        WritePayload(writer, error);
        return StatusOf(error);
    }

    public static FrameStatus StatusOf(Exception error) => (FrameStatus)(error switch
    {
        NodeUnavailableException => VolumeStatus.NodeUnavailable,
        StaleOwnershipException => VolumeStatus.StaleOwnership,
        ArgumentException => VolumeStatus.InvalidArgument,
        InvalidOperationException => VolumeStatus.InvalidOperation,
        _ => VolumeStatus.IoError,
    });

    /// <summary>The payload that goes with <see cref="StatusOf"/>.</summary>
    public static void WritePayload(IBufferWriter<byte> writer, Exception error)
    {
        switch (error)
        {
            case NodeUnavailableException unavailable:
                BinaryPrimitives.WriteInt32BigEndian(writer.GetSpan(4), unavailable.Node.Value);
                writer.Advance(4);
                break;
            case StaleOwnershipException stale:
                Span<byte> span = writer.GetSpan(24);
                BinaryPrimitives.WriteInt64BigEndian(span, stale.SubUnit);
                BinaryPrimitives.WriteInt64BigEndian(span[8..], stale.ExpectedEpoch);
                BinaryPrimitives.WriteInt64BigEndian(span[16..], stale.ActualEpoch);
                writer.Advance(24);
                break;
            case ArgumentException or InvalidOperationException or IOException:
                WriteText(writer, error.Message);
                break;
            default:
                WriteText(writer, $"{error.GetType().Name}: {error.Message}");
                break;
        }
    }

    /// <summary>
    /// The exception for a non-Ok <paramref name="status"/> from <paramref name="peer"/>. Transport
    /// statuses (unknown type, handler failure) become <see cref="IOException"/>.
    /// </summary>
    public static Exception ToException(FrameStatus status, ReadOnlySpan<byte> payload, NodeId peer)
    {
        switch ((VolumeStatus)status)
        {
            case VolumeStatus.NodeUnavailable when payload.Length >= 4:
                return new NodeUnavailableException(new NodeId(BinaryPrimitives.ReadInt32BigEndian(payload)));
            case VolumeStatus.StaleOwnership when payload.Length >= 24:
                return new StaleOwnershipException(BinaryPrimitives.ReadInt64BigEndian(payload),
                    BinaryPrimitives.ReadInt64BigEndian(payload[8..]), BinaryPrimitives.ReadInt64BigEndian(payload[16..]));
            case VolumeStatus.InvalidArgument:
                return new ArgumentException($"node {peer}: {Text(payload)}");
            case VolumeStatus.InvalidOperation:
                return new InvalidOperationException($"node {peer}: {Text(payload)}");
            case VolumeStatus.IoError:
                return new IOException($"node {peer}: {Text(payload)}");
            default:
                return new IOException($"node {peer} answered {FormatStatus(status)}: {Text(payload)}");
        }
    }

    private static string FormatStatus(FrameStatus status) =>
        status >= FrameStatus.ApplicationBase ? $"status 0x{(ushort)status:x}" : status.ToString();

    private static void WriteText(IBufferWriter<byte> writer, string text)
    {
        // As much of the text as fits (whole characters); the rest is dropped.
        System.Text.Unicode.Utf8.FromUtf16(text, writer.GetSpan(MaxTextBytes)[..MaxTextBytes], out _, out int written);
        writer.Advance(written);
    }

    private static string Text(ReadOnlySpan<byte> payload) =>
        payload.Length == 0 ? "(no detail)" : Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, MaxTextBytes)]);
}
