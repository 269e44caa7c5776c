using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// The limits the SBC-4 commands of this folder advertise and enforce, in one place so the VPD pages
/// (Block Limits B0h, Logical Block Provisioning B2h) and the command code cannot disagree.
/// </summary>
internal static class BlockLimitsFields
{
    /// <summary>
    /// MAXIMUM COMPARE AND WRITE LENGTH (one byte). COMPARE AND WRITE holds the range exclusively while it
    /// compares, so it is kept short; VMware ATS uses one block.
    /// </summary>
    public static int MaximumCompareAndWriteBlocks(LogicalUnit lu) => Math.Min(255, lu.MaximumTransferBlocks / 2);

    /// <summary>
    /// MAXIMUM UNMAP LBA COUNT: FFFFFFFFh, no limit (SBC-4 6.6.4). An unmap is a hole punched in the store,
    /// whose cost does not grow with the data that was there.
    /// </summary>
    public const uint MaximumUnmapLbaCount = 0xFFFF_FFFF;

    /// <summary>MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT: bounds the parameter list (8 + 16 × n bytes).</summary>
    public const int MaximumUnmapDescriptors = 1024;

    /// <summary>
    /// MAXIMUM WRITE SAME LENGTH: as much as one WRITE may carry. WRITE SAME without UNMAP really writes
    /// every block, so it gets the same bound as a transfer.
    /// </summary>
    public static int MaximumWriteSameBlocks(LogicalUnit lu) => lu.MaximumTransferBlocks;

    /// <summary>MAXIMUM ATOMIC TRANSFER LENGTH: 1 MiB (WRITE ATOMIC holds its range exclusively).</summary>
    public static int MaximumAtomicBlocks(LogicalUnit lu) => Math.Min(lu.MaximumTransferBlocks, (1 << 20) / lu.BlockSize);

    /// <summary>
    /// ATOMIC ALIGNMENT and ATOMIC TRANSFER LENGTH GRANULARITY: 4 KiB, the unit in which the chunk store
    /// keeps checksums (ARCHITECTURE decision 4), so an atomic write never shares a checksum unit with
    /// a non-atomic one.
    /// </summary>
    public static int AtomicUnitBlocks(LogicalUnit lu) => Math.Max(1, 4096 / lu.BlockSize);

    /// <summary>
    /// OPTIMAL UNMAP GRANULARITY: the store's allocation unit, and at least one physical block (both powers of
    /// two, so the larger is a multiple of the other): space is given back only for whole units of both.
    /// </summary>
    public static int OptimalUnmapGranularity(LogicalUnit lu) => Math.Max(Math.Max(1, lu.Store.UnmapGranularityBlocks), lu.LogicalBlocksPerPhysicalBlock);

    /// <summary>MAXIMUM PREFETCH LENGTH: PRE-FETCH reads at most one transfer's worth into the cache.</summary>
    public static int MaximumPrefetchBlocks(LogicalUnit lu) => lu.MaximumTransferBlocks;

    /// <summary>
    /// Fills the SBC-4 6.6.4 Block Limits fields this folder owns: WSNZ, MAXIMUM COMPARE AND WRITE LENGTH,
    /// MAXIMUM PREFETCH LENGTH, the UNMAP fields, MAXIMUM WRITE SAME LENGTH and the atomic fields.
    /// <paramref name="page"/> is the whole page (header included, 64 bytes).
    /// </summary>
    public static void Fill(Span<byte> page, LogicalUnit lu)
    {
        page[4] = 0x00;                                                          // WSNZ = 0: WRITE SAME of 0 blocks means "to the last LBA"
        if (CommandTable.Supports(0x89)) page[5] = (byte)MaximumCompareAndWriteBlocks(lu);
        if (CommandTable.Supports(0x34)) BinaryPrimitives.WriteUInt32BigEndian(page[16..], (uint)MaximumPrefetchBlocks(lu));
        if (CommandTable.Supports(0x42))
        {
            BinaryPrimitives.WriteUInt32BigEndian(page[20..], MaximumUnmapLbaCount);
            BinaryPrimitives.WriteUInt32BigEndian(page[24..], MaximumUnmapDescriptors);
            BinaryPrimitives.WriteUInt32BigEndian(page[28..], (uint)OptimalUnmapGranularity(lu)); // OPTIMAL UNMAP GRANULARITY
            BinaryPrimitives.WriteUInt32BigEndian(page[32..], 0x8000_0000u);      // UGAVALID = 1, UNMAP GRANULARITY ALIGNMENT = 0
        }
        if (CommandTable.Supports(0x93)) BinaryPrimitives.WriteUInt64BigEndian(page[36..], (ulong)MaximumWriteSameBlocks(lu));
        if (CommandTable.Supports(0x9C))
        {
            BinaryPrimitives.WriteUInt32BigEndian(page[44..], (uint)MaximumAtomicBlocks(lu));
            BinaryPrimitives.WriteUInt32BigEndian(page[48..], (uint)AtomicUnitBlocks(lu));   // ATOMIC ALIGNMENT
            BinaryPrimitives.WriteUInt32BigEndian(page[52..], (uint)AtomicUnitBlocks(lu));   // ATOMIC TRANSFER LENGTH GRANULARITY
            // No atomic boundary support: the two boundary fields stay zero (SBC-4 4.29.x).
        }
    }

    /// <summary>
    /// SBC-4 6.6.6 Logical Block Provisioning VPD page: thin provisioned, UNMAP and WRITE SAME (10/16) with
    /// UNMAP supported, deallocated blocks read as zeros (LBPRZ 001b), no anchored state (ANC_SUP = 0),
    /// no thresholds, no provisioning group descriptor.
    /// </summary>
    public static byte[] LogicalBlockProvisioningPage()
    {
        var d = new byte[8];
        d[1] = 0xB2;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 4);
        d[4] = 0;                                      // THRESHOLD EXPONENT: thresholds not supported
        byte flags = 0x04;                             // LBPRZ = 001b
        if (CommandTable.Supports(0x42)) flags |= 0x80; // LBPU
        if (CommandTable.Supports(0x93)) flags |= 0x40; // LBPWS
        if (CommandTable.Supports(0x41)) flags |= 0x20; // LBPWS10
        d[5] = flags;
        d[6] = 0x02;                                   // PROVISIONING TYPE 010b: thin provisioned
        return d;
    }
}
