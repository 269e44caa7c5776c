using System.Buffers;
using System.Buffers.Binary;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Transport.Messages;

/// <summary>
/// Wire form of the stale-column rebuild (docs/cluster-node.md, "Stale columns"), two requests.
/// Big-endian, fixed lengths (a frame of any other length is malformed):
/// <code>
/// 105 VolumeRebuildBegin    node (4)                                         → empty
/// 106 VolumeRebuildSubUnit  volume (16), sub-unit (8), epoch (8), node (4)   → stripes rebuilt (8)
/// </code>
/// Node is the stale node's NodeId (its column index in the placement). Failures answer with a
/// <see cref="VolumeStatus"/> (<see cref="VolumeErrors"/>).
/// </summary>
internal static class RebuildFrames
{
    public const int BeginSize = 4;
    public const int SubUnitSize = 36;
    public const int SubUnitResponseSize = 8;

    public static void WriteBegin(IBufferWriter<byte> writer, NodeId node)
    {
        BinaryPrimitives.WriteInt32BigEndian(writer.GetSpan(BeginSize), node.Value);
        writer.Advance(BeginSize);
    }

    public static bool TryReadBegin(ReadOnlySpan<byte> payload, out NodeId node)
    {
        node = default;
        if (payload.Length != BeginSize)
        {
            return false;
        }

        int value = BinaryPrimitives.ReadInt32BigEndian(payload);
        node = new NodeId(value);
        return value >= 0;
    }

    public static void WriteSubUnit(IBufferWriter<byte> writer, Guid volume, long subUnit, long epoch, NodeId node)
    {
        Span<byte> span = writer.GetSpan(SubUnitSize);
        volume.TryWriteBytes(span[..16], bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], subUnit);
        BinaryPrimitives.WriteInt64BigEndian(span[24..], epoch);
        BinaryPrimitives.WriteInt32BigEndian(span[32..], node.Value);
        writer.Advance(SubUnitSize);
    }

    public static bool TryReadSubUnit(ReadOnlySpan<byte> payload, out Guid volume, out long subUnit, out long epoch, out NodeId node)
    {
        (volume, subUnit, epoch, node) = (default, 0, 0, default);
        if (payload.Length != SubUnitSize)
        {
            return false;
        }

        volume = new Guid(payload[..16], bigEndian: true);
        subUnit = BinaryPrimitives.ReadInt64BigEndian(payload[16..]);
        epoch = BinaryPrimitives.ReadInt64BigEndian(payload[24..]);
        int value = BinaryPrimitives.ReadInt32BigEndian(payload[32..]);
        node = new NodeId(value);
        return subUnit >= 0 && epoch >= 0 && value >= 0;
    }

    public static void WriteSubUnitResponse(IBufferWriter<byte> writer, long stripes)
    {
        BinaryPrimitives.WriteInt64BigEndian(writer.GetSpan(SubUnitResponseSize), stripes);
        writer.Advance(SubUnitResponseSize);
    }

    public static bool TryReadSubUnitResponse(ReadOnlySpan<byte> payload, out long stripes)
    {
        stripes = payload.Length == SubUnitResponseSize ? BinaryPrimitives.ReadInt64BigEndian(payload) : -1;
        return stripes >= 0;
    }
}
