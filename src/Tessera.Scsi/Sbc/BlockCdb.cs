using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// LOGICAL BLOCK ADDRESS and TRANSFER LENGTH of the 6/10/12/16-byte SBC-4 CDB layouts, and the
/// checks every block command makes on them.
/// </summary>
internal static class BlockCdb
{
    /// <summary>Decodes LBA and transfer length; returns the byte index of the TRANSFER LENGTH field.</summary>
    public static int Decode(ReadOnlySpan<byte> cdb, out ulong lba, out uint blocks)
    {
        switch (cdb[0] >> 5)
        {
            case 0: // 6-byte (SBC-4 5.x READ(6)/WRITE(6)): 21-bit LBA; length 0 means 256
                lba = (ulong)((cdb[1] & 0x1F) << 16 | cdb[2] << 8 | cdb[3]);
                blocks = cdb[4] == 0 ? 256u : cdb[4];
                return 4;
            case 1:
            case 2: // 10-byte
                lba = BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
                return 7;
            case 5: // 12-byte
                lba = BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
                return 6;
            default: // 16-byte
                lba = BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]);
                blocks = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
                return 10;
        }
    }

    /// <summary>
    /// SBC-4 4.x: a transfer longer than MAXIMUM TRANSFER LENGTH is INVALID FIELD IN CDB (pointing at the
    /// TRANSFER LENGTH field); a range beyond the last LBA is LBA OUT OF RANGE, also for zero blocks.
    /// Returns false after failing the task.
    /// </summary>
    public static bool CheckRange(LogicalUnit lu, ScsiTask task, LuState state, ulong lba, uint blocks, int lengthField, bool limitTransfer = true)
    {
        if (limitTransfer && blocks > (uint)lu.MaximumTransferBlocks)
        {
            task.InvalidFieldInCdb(state, lengthField);
            return false;
        }
        ulong capacity = (ulong)lu.Store.BlockCount;
        if (lba > capacity || blocks > capacity - lba)
        {
            task.LbaOutOfRange(state);
            return false;
        }
        return true;
    }
}
