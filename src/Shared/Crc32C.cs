using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Tessera.Hashing;

/// <summary>
/// The one CRC32C (Castagnoli) of the code base, compiled into every assembly that needs it
/// (iSCSI digests, parity block checksums, metadata log records, inter-node frame headers)
/// so none depends on another for it. As iSCSI digests use it (RFC 7143 13.1, Appendix B.4): initial value
/// all ones, reflected, final complement. Uses the SSE4.2/ARMv8 CRC instructions through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>.
/// </summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(~0u, data);

    public static uint Compute(in ReadOnlySequence<byte> data)
    {
        uint crc = ~0u;
        foreach (var segment in data) crc = Append(crc, segment.Span);
        return ~crc;
    }

    /// <summary>Continues a running (non-complemented) CRC over more bytes.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var longs = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong v in longs) crc = BitOperations.Crc32C(crc, v);
        for (int i = longs.Length * 8; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }

    /// <summary>Digests travel as the 4 bytes of the CRC register in little-endian order (RFC 7143 B.4).</summary>
    public static void Write(Span<byte> destination, uint digest) => BinaryPrimitives.WriteUInt32LittleEndian(destination, digest);

    public static uint Read(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt32LittleEndian(source);
}
