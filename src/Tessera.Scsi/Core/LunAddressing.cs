using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SAM-5 4.7 LUN representation. The 8-byte LUN field is handled as a big-endian <see cref="ulong"/>
/// (first byte of the LUN structure = most significant byte), exactly as it sits in an iSCSI BHS.
/// Tessera presents LUNs below 256 with peripheral device addressing and LUNs up to 16383 with
/// flat space addressing, as Linux and most targets do.
/// </summary>
public static class LunAddressing
{
    /// <summary>Highest LUN that single-level flat space addressing can carry (SAM-5 4.7.7).</summary>
    public const int MaxLun = 16383;

    /// <summary>Encodes a LUN number as the 64-bit LUN field (SAM-5 4.7.6 / 4.7.7).</summary>
    public static ulong Encode(int lun)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lun);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lun, MaxLun);
        // Peripheral device addressing (00b, bus 0) below 256, flat space (01b) above.
        ulong first2 = lun < 256 ? (ulong)lun : 0x4000UL | (ulong)lun;
        return first2 << 48;
    }

    /// <summary>Writes the 8-byte LUN structure for <paramref name="lun"/> (REPORT LUNS list entries).</summary>
    public static void Write(Span<byte> destination, int lun) => BinaryPrimitives.WriteUInt64BigEndian(destination, Encode(lun));

    /// <summary>
    /// Decodes a single-level LUN field. Returns false for addressing methods or levels Tessera
    /// does not use (extended / logical unit addressing, non-zero bus, second level) — such a LUN
    /// does not exist here.
    /// </summary>
    public static bool TryDecode(ulong field, out int lun)
    {
        lun = -1;
        if ((field & 0x0000_FFFF_FFFF_FFFFUL) != 0) return false; // only first-level addressing
        int first2 = (int)(field >> 48);
        switch (first2 >> 14)
        {
            case 0b00: // peripheral device addressing: BUS IDENTIFIER must be 0 (SAM-5 4.7.6)
                if ((first2 & 0x3F00) != 0) return false;
                lun = first2 & 0xFF;
                return true;
            case 0b01: // flat space addressing (SAM-5 4.7.7)
                lun = first2 & 0x3FFF;
                return true;
            default:
                return false;
        }
    }
}
