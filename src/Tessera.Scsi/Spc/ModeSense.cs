using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.13 MODE SENSE (6) and 6.14 MODE SENSE (10): mode parameter header, optional block
/// descriptor (SBC-4 6.5.2, short or LLBAA long) and the pages of <see cref="ModePages"/> with the
/// requested page control (current, changeable, default, saved).
/// </summary>
internal static class ModeSense
{
    public static readonly CommandDescriptor ModeSense6 = new(0x1A, -1, "MODE SENSE(6)",
        [0x1A, 0x08, 0xFF, 0xFF, 0xFF, 0x00], Execute);

    public static readonly CommandDescriptor ModeSense10 = new(0x5A, -1, "MODE SENSE(10)",
        [0x5A, 0x18, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00], Execute);

    private const byte DpoFua = 0x10;       // SBC-4 6.5.1 DEVICE-SPECIFIC PARAMETER: DPO and FUA supported
    private const byte WriteProtect = 0x80; // WP

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        bool six = cdb[0] == 0x1A;
        bool dbd = (cdb[1] & 0x08) != 0;
        bool llbaa = !six && (cdb[1] & 0x10) != 0;
        int pc = cdb[2] >> 6;
        byte pageCode = (byte)(cdb[2] & 0x3F);
        byte subpage = cdb[3];
        int allocation = six ? cdb[4] : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);

        // Tessera's pages have no subpages: subpage 00h, or FFh ("all subpages") which includes 00h.
        if (subpage is not (0x00 or 0xFF)) { task.InvalidFieldInCdb(state, 3); return ValueTask.CompletedTask; }
        ModePageDefinition? single = null;
        if (pageCode != ModePages.AllPages)
        {
            single = ModePages.Find(pageCode);
            if (single is null) { task.InvalidFieldInCdb(state, 2, 5); return ValueTask.CompletedTask; }
        }

        int headerLength = six ? 4 : 8;
        int descriptorLength = dbd ? 0 : llbaa ? 16 : 8;
        int pagesLength = 0;
        foreach (var p in ModePages.All)
            if (single is null || p == single) pagesLength += p.Length;
        var data = new byte[headerLength + descriptorLength + pagesLength];
        var s = data.AsSpan();

        byte deviceSpecific = DpoFua;
        if (lu.IsWriteProtected(state)) deviceSpecific |= WriteProtect;
        if (six)
        {
            s[0] = (byte)(data.Length - 1); // MODE DATA LENGTH excludes itself
            s[2] = deviceSpecific;
            s[3] = (byte)descriptorLength;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)(data.Length - 2));
            s[3] = deviceSpecific;
            s[4] = (byte)(llbaa ? 0x01 : 0x00); // LONGLBA
            BinaryPrimitives.WriteUInt16BigEndian(s[6..], (ushort)descriptorLength);
        }

        int at = headerLength;
        // Nothing in the block descriptor is changeable: the changeable view reports zeros.
        if (descriptorLength > 0 && pc != 1)
        {
            var bd = s.Slice(at, descriptorLength);
            long blocks = lu.Store.BlockCount;
            if (llbaa)
            {
                BinaryPrimitives.WriteUInt64BigEndian(bd, (ulong)blocks);
                BinaryPrimitives.WriteUInt32BigEndian(bd[12..], (uint)lu.BlockSize);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(bd, blocks > 0xFFFF_FFFFL ? 0xFFFF_FFFFu : (uint)blocks);
                bd[5] = (byte)(lu.BlockSize >> 16);
                bd[6] = (byte)(lu.BlockSize >> 8);
                bd[7] = (byte)lu.BlockSize;
            }
        }
        at += descriptorLength;

        foreach (var p in ModePages.All)
        {
            if (single is not null && p != single) continue;
            var target = s.Slice(at, p.Length);
            switch (pc)
            {
                case 0: state.CurrentMode.Page(p.PageCode).CopyTo(target); break;
                case 1:
                    p.Changeable.CopyTo(target);
                    target[0] = p.PageCode;
                    target[1] = (byte)(p.Length - 2);
                    break;
                case 2: p.Default.CopyTo(target); break;
                default: state.SavedMode.Page(p.PageCode).CopyTo(target); break;
            }
            target[0] |= 0x80; // PS: every page is savable
            at += p.Length;
        }
        task.ReturnData(data, allocation);
        return ValueTask.CompletedTask;
    }
}
