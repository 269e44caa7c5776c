namespace Tessera.Scsi;

/// <summary>Ways a command ends, written into its <see cref="ScsiTask"/>.</summary>
internal static class TaskResults
{
    public static void CheckCondition(this ScsiTask task, bool descriptor, SenseKey key, ushort ascAscq, long information = -1, SenseKeySpecific sks = default)
    {
        task.Status = ScsiStatus.CheckCondition;
        task.DataInLength = 0;
        int n = SenseData.Write(task.SenseBuffer, descriptor, key, ascAscq, information, sks);
        task.SetSenseLength(n);
    }

    public static void CheckCondition(this ScsiTask task, LuState state, SenseKey key, ushort ascAscq, long information = -1, SenseKeySpecific sks = default) =>
        task.CheckCondition(state.CurrentMode.DescriptorSense, key, ascAscq, information, sks);

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN CDB with a field pointer (SPC-5 4.4.2.4.2).</summary>
    public static void InvalidFieldInCdb(this ScsiTask task, LuState state, int byteIndex, int bit = -1) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.InvalidFieldInCdb, sks: SenseKeySpecific.FieldPointer(true, byteIndex, bit));

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST pointing into the Data-Out buffer.</summary>
    public static void InvalidFieldInParameterList(this ScsiTask task, LuState state, int byteIndex, int bit = -1) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, sks: SenseKeySpecific.FieldPointer(false, byteIndex, bit));

    public static void LbaOutOfRange(this ScsiTask task, LuState state) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.LogicalBlockAddressOutOfRange);

    public static void WriteProtected(this ScsiTask task, LuState state) =>
        task.CheckCondition(state, SenseKey.DataProtect, Asc.WriteProtected);

    public static void ReservationConflict(this ScsiTask task)
    {
        task.Status = ScsiStatus.ReservationConflict;
        task.DataInLength = 0;
        task.SetSenseLength(0);
    }

    /// <summary>
    /// Finishes a command whose parameter data is <paramref name="data"/> under allocation-length
    /// rules (SPC-5 4.2.5.6): the command transfers min(allocation length, data length) bytes, and
    /// the transport may take fewer still.
    /// </summary>
    public static void ReturnData(this ScsiTask task, ReadOnlySpan<byte> data, int allocationLength)
    {
        int wanted = Math.Min(allocationLength, data.Length);
        task.CommandTransferLength = wanted;
        int n = Math.Min(wanted, task.DataIn.Length);
        data[..n].CopyTo(task.DataIn.Span);
        task.DataInLength = n;
        task.Status = ScsiStatus.Good;
    }

    /// <summary>Returns the index of the highest set bit in <paramref name="b"/> (for BPV bit pointers).</summary>
    public static int HighestBit(int b) => 31 - int.LeadingZeroCount(b & 0xFF);
}
