using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Tessera.Cluster.Transport.Protocol;

/// <summary>
/// CRC-32C (Castagnoli, RFC 3720 B.4) over frame headers: a corrupt or misaligned stream is
/// caught at the header, before a bogus length makes the receiver wait for or buffer garbage.
/// Kept in this folder so the transport does not depend on another area's internals.
/// </summary>
internal static class HeaderCrc32C
{
    private const uint Polynomial = 0x82F63B78; // reflected Castagnoli
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            crc = (uint)c;
        }

        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
