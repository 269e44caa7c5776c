using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// The sense-key specific field (SPC-5 4.4.2.4.2): for ILLEGAL REQUEST a field pointer naming the
/// byte (and optionally the bit) of the CDB or parameter list that was wrong.
/// </summary>
internal readonly record struct SenseKeySpecific(bool Valid, byte B0, byte B1, byte B2)
{
    public static SenseKeySpecific None => default;

    /// <summary>Field pointer: <paramref name="inCdb"/> sets C/D; <paramref name="bit"/> ≥ 0 sets BPV.</summary>
    public static SenseKeySpecific FieldPointer(bool inCdb, int byteIndex, int bit = -1)
    {
        byte b0 = 0x80; // SKSV
        if (inCdb) b0 |= 0x40;
        if (bit >= 0) b0 |= (byte)(0x08 | (bit & 0x07));
        return new SenseKeySpecific(true, b0, (byte)(byteIndex >> 8), (byte)byteIndex);
    }
}

/// <summary>Builds sense data in fixed (70h, SPC-5 4.4.3) or descriptor (72h, SPC-5 4.4.2) format.</summary>
internal static class SenseData
{
    public const int FixedLength = 18;

    /// <summary>Writes sense data and returns its length. <paramref name="information"/> &lt; 0 means none.</summary>
    public static int Write(Span<byte> dest, bool descriptor, SenseKey key, ushort ascAscq, long information = -1, SenseKeySpecific sks = default)
    {
        if (!descriptor)
        {
            var s = dest[..FixedLength];
            s.Clear();
            s[0] = 0x70; // current error, fixed format
            s[2] = (byte)key;
            if (information >= 0)
            {
                // The fixed format INFORMATION field has 4 bytes; larger values only fit the descriptor.
                s[0] |= information <= uint.MaxValue ? (byte)0x80 : (byte)0;
                BinaryPrimitives.WriteUInt32BigEndian(s[3..], (uint)information);
            }
            s[7] = FixedLength - 8; // ADDITIONAL SENSE LENGTH
            s[12] = (byte)(ascAscq >> 8);
            s[13] = (byte)ascAscq;
            if (sks.Valid) { s[15] = sks.B0; s[16] = sks.B1; s[17] = sks.B2; }
            return FixedLength;
        }

        int n = 8;
        dest[..8].Clear();
        dest[0] = 0x72; // current error, descriptor format
        dest[1] = (byte)key;
        dest[2] = (byte)(ascAscq >> 8);
        dest[3] = (byte)ascAscq;
        if (information >= 0)
        {
            // SPC-5 4.4.2.2 Information sense data descriptor
            var d = dest.Slice(n, 12);
            d.Clear();
            d[0] = 0x00; d[1] = 0x0A; d[2] = 0x80; // VALID
            BinaryPrimitives.WriteUInt64BigEndian(d[4..], (ulong)information);
            n += 12;
        }
        if (sks.Valid)
        {
            // SPC-5 4.4.2.4 Sense key specific sense data descriptor
            var d = dest.Slice(n, 8);
            d.Clear();
            d[0] = 0x02; d[1] = 0x06; d[4] = sks.B0; d[5] = sks.B1; d[6] = sks.B2;
            n += 8;
        }
        dest[7] = (byte)(n - 8);
        return n;
    }
}
