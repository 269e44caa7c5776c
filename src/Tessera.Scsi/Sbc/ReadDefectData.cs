using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SBC-4 5.17/5.18 READ DEFECT DATA (10)/(12). A volume has no physical medium and therefore no defects:
/// the header reports the requested lists as valid (PLISTV/GLISTV follow REQ_PLIST/REQ_GLIST) and empty,
/// in the requested DEFECT LIST FORMAT. The 12-byte form supports the ADDRESS DESCRIPTOR INDEX (any index
/// is past the end of an empty list) and reports GENERATION CODE 0 ("not supported").
/// </summary>
internal static class ReadDefectData
{
    // READ DEFECT DATA (10): byte 2 REQ_PLIST (4), REQ_GLIST (3), DEFECT LIST FORMAT (2-0); 7-8 ALLOCATION LENGTH.
    public static readonly CommandDescriptor ReadDefectData10 = new(0x37, -1, "READ DEFECT DATA(10)",
        [0x37, 0x00, 0x1F, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], Execute10);

    // READ DEFECT DATA (12): byte 1 REQ_PLIST, REQ_GLIST, FORMAT; 2-5 ADDRESS DESCRIPTOR INDEX; 6-9 ALLOCATION LENGTH.
    public static readonly CommandDescriptor ReadDefectData12 = new(0xB7, -1, "READ DEFECT DATA(12)",
        [0xB7, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], Execute12);

    private static ValueTask Execute10(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        Span<byte> d = stackalloc byte[4];
        d.Clear();
        d[1] = Flags(cdb[2]);
        // bytes 2-3 DEFECT LIST LENGTH: 0
        task.ReturnData(d, BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]));
        return ValueTask.CompletedTask;
    }

    private static ValueTask Execute12(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        Span<byte> d = stackalloc byte[8];
        d.Clear();
        d[1] = Flags(cdb[1]);
        // bytes 2-3 GENERATION CODE 0, bytes 4-7 DEFECT LIST LENGTH 0
        task.ReturnData(d, (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue));
        return ValueTask.CompletedTask;
    }

    // PLISTV (4) and GLISTV (3) mirror REQ_PLIST/REQ_GLIST: the (empty) lists exist; the format is echoed.
    private static byte Flags(byte request) => (byte)(request & 0x1F);
}
