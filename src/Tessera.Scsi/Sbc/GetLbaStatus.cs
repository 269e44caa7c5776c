using System.Buffers;
using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.8 GET LBA STATUS (SERVICE ACTION IN(16), 12h): LBA status descriptors from the starting
/// LBA on, each a run of blocks that are all mapped or all deallocated, as the store reports them
/// (<see cref="IBlockStore.GetLbaStatusAsync"/>). As many descriptors are returned as fit in the
/// allocation length (at most <see cref="MaximumDescriptors"/>); the first one starts at the
/// starting LBA. Runs longer than the 32-bit NUMBER OF LOGICAL BLOCKS field are split.
/// </summary>
internal static class GetLbaStatus
{
    public static readonly CommandDescriptor Command = new(0x9E, 0x12, "GET LBA STATUS",
        [0x9E, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], ExecuteAsync);

    private const int HeaderLength = 8, DescriptorLength = 16;

    /// <summary>Bounds the store queries one command makes.</summary>
    internal const int MaximumDescriptors = 512;

    private const byte Mapped = 0x0, Deallocated = 0x1;

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        ulong start = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
        long capacity = lu.Store.BlockCount;
        // SBC-4 5.8.1: a starting LBA beyond the last one is LBA OUT OF RANGE.
        if (start >= (ulong)capacity) { task.LbaOutOfRange(state); return; }
        if (allocation == 0) { task.CommandTransferLength = 0; return; }
        // At least one descriptor, even when the allocation length truncates it.
        int wanted = (int)Math.Clamp(((long)allocation - HeaderLength) / DescriptorLength, 1, MaximumDescriptors);
        int size = HeaderLength + wanted * DescriptorLength;
        var data = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int n = 0;
            long lba = (long)start;
            while (n < wanted && lba < capacity)
            {
                var run = await lu.Store.GetLbaStatusAsync(lba).ConfigureAwait(false);
                // The store reports the run that starts at lba; never trust it beyond the capacity.
                long blocks = Math.Clamp(run.BlockCount, 1, capacity - lba);
                while (blocks > 0 && n < wanted)
                {
                    uint piece = (uint)Math.Min(blocks, uint.MaxValue);
                    var d = data.AsSpan(HeaderLength + n * DescriptorLength, DescriptorLength);
                    d.Clear();
                    BinaryPrimitives.WriteUInt64BigEndian(d, (ulong)lba);
                    BinaryPrimitives.WriteUInt32BigEndian(d[8..], piece);
                    d[12] = run.Mapped ? Mapped : Deallocated;
                    n++;
                    lba += piece;
                    blocks -= piece;
                }
            }
            int length = HeaderLength + n * DescriptorLength;
            data.AsSpan(0, HeaderLength).Clear();
            BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(length - 4)); // PARAMETER DATA LENGTH
            task.ReturnData(data.AsSpan(0, length), (int)Math.Min(allocation, int.MaxValue));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }
}
