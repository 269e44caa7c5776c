using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.32 UNMAP: deallocates the ranges of the parameter list's block descriptors (SBC-4 4.7.3.4).
/// The whole list is validated before any block is touched, so a bad descriptor leaves the medium
/// unchanged. Deallocated blocks read as zeros (LBPRZ) and their space goes back to the store.
/// </summary>
internal static class Unmap
{
    // Byte 1: ANCHOR (bit 0) is looked at (and refused: ANC_SUP = 0); byte 6: GROUP NUMBER.
    public static readonly CommandDescriptor Command = new(0x42, -1, "UNMAP",
        [0x42, 0x01, 0x00, 0x00, 0x00, 0x00, 0x1F, 0xFF, 0xFF, 0x00], ExecuteAsync, CommandFlags.WritesMedium);

    private const int HeaderLength = 8, DescriptorLength = 16;

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        if ((cdb[1] & 0x01) != 0) { task.InvalidFieldInCdb(state, 1, 0); return; } // ANCHOR: anchored state not supported
        int length = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        if (lu.IsWriteProtected(state)) { task.WriteProtected(state); return; }
        if (length == 0) return; // SBC-4 5.32.1: not an error, nothing to do
        if (!ReadWrite.HasDataOut(task, state, length)) return;
        var list = task.DataOut.Span[..length];
        // SBC-4 5.32.2: a list too short for its header is a PARAMETER LIST LENGTH ERROR.
        if (length < HeaderLength) { ParameterListLengthError(task, state); return; }
        int dataLength = BinaryPrimitives.ReadUInt16BigEndian(list);
        int descriptorBytes = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        // The lengths in the header must fit inside what the CDB said it sent.
        if (dataLength + 2 > length || descriptorBytes + HeaderLength > length)
        {
            ParameterListLengthError(task, state);
            return;
        }
        int count = descriptorBytes / DescriptorLength; // a trailing partial descriptor is ignored
        if (count > BlockLimitsFields.MaximumUnmapDescriptors)
        {
            task.InvalidFieldInParameterList(state, 2);
            return;
        }
        ulong capacity = (ulong)lu.Store.BlockCount;
        ulong total = 0;
        for (int i = 0; i < count; i++)
        {
            var d = list.Slice(HeaderLength + i * DescriptorLength, DescriptorLength);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(d);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(d[8..]);
            if (lba > capacity || blocks > capacity - lba) { task.LbaOutOfRange(state); return; }
            total += blocks;
        }
        if (total > BlockLimitsFields.MaximumUnmapLbaCount)
        {
            task.InvalidFieldInParameterList(state, HeaderLength + 8);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            // Re-read from the buffer: the span cannot live across the await.
            var d = task.DataOut.Span.Slice(HeaderLength + i * DescriptorLength, DescriptorLength);
            long lba = (long)BinaryPrimitives.ReadUInt64BigEndian(d);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(d[8..]);
            if (blocks > 0) await lu.Store.UnmapAsync(lba, blocks).ConfigureAwait(false);
        }
    }

    internal static void ParameterListLengthError(ScsiTask task, LuState state) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
}
