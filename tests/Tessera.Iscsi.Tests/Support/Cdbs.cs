using System.Buffers.Binary;

namespace Tessera.Iscsi.Tests.Support;

internal static class Cdbs
{
    public static byte[] Read10(uint lba, ushort blocks)
    {
        var c = new byte[16];
        c[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    public static byte[] Write10(uint lba, ushort blocks, bool fua = false)
    {
        var c = Read10(lba, blocks);
        c[0] = 0x2a;
        if (fua) c[1] = 0x08;
        return c;
    }

    public static byte[] TestUnitReady() => new byte[16];
}
