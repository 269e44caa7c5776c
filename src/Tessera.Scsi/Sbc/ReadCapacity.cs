using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>SBC-4 5.20 READ CAPACITY (10) and 5.21 READ CAPACITY (16).</summary>
internal static class ReadCapacity
{
    public static readonly CommandDescriptor ReadCapacity10 = new(0x25, -1, "READ CAPACITY(10)",
        [0x25, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00], Execute10);

    public static readonly CommandDescriptor ReadCapacity16 = new(0x9E, 0x10, "READ CAPACITY(16)",
        [0x9E, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00], Execute16);

    private static ValueTask Execute10(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        // SBC-3: with PMI = 0 the LOGICAL BLOCK ADDRESS field must be zero (PMI is obsolete in SBC-4).
        if ((cdb[8] & 0x01) == 0 && BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]) != 0)
        {
            task.InvalidFieldInCdb(state, 2);
            return ValueTask.CompletedTask;
        }
        Span<byte> d = stackalloc byte[8];
        long last = lu.Store.BlockCount - 1;
        // Capacities beyond 2^32 blocks report FFFFFFFFh so the initiator uses READ CAPACITY (16).
        BinaryPrimitives.WriteUInt32BigEndian(d, last > 0xFFFF_FFFEL ? 0xFFFF_FFFFu : (uint)last);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)lu.BlockSize);
        task.ReturnData(d, 8);
        return ValueTask.CompletedTask;
    }

    private static ValueTask Execute16(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
        if ((cdb[14] & 0x01) == 0 && BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) != 0)
        {
            task.InvalidFieldInCdb(state, 2);
            return ValueTask.CompletedTask;
        }
        Span<byte> d = stackalloc byte[32];
        d.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(d, (ulong)(lu.Store.BlockCount - 1));
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], (uint)lu.BlockSize);
        // byte 12: no protection; byte 13: P_I_EXPONENT 0, LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT;
        // bytes 14-15: LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0 (LBA 0 starts a physical block), with
        // LBPME/LBPRZ set once UNMAP (42h) is supported — thin provisioning is reported then.
        d[13] = (byte)lu.LogicalBlocksPerPhysicalBlockExponent;
        if (CommandTable.Supports(0x42)) d[14] = 0x80 | 0x40;
        task.ReturnData(d, (int)Math.Min(allocation, 32u));
        return ValueTask.CompletedTask;
    }
}
