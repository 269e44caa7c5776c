using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

/// <summary>A target with one or more LUs over in-memory stores, and helpers to issue commands.</summary>
internal sealed class Harness
{
    public const string TargetName = "iqn.2026-01.org.tessera:test";
    public static readonly ItNexus NexusA = new("iqn.1994-05.com.redhat:a", 0x23d000000001, 1, 1);
    public static readonly ItNexus NexusB = new("iqn.1994-05.com.redhat:b", 0x23d000000002, 1, 1);

    public ScsiTarget Target { get; }
    public MemoryBlockStore Store { get; }
    public LocalLuContext Context { get; }
    public LogicalUnit Lu { get; }

    public Harness(long blocks = 2048, int blockSize = 512, bool readOnly = false, string? contextPath = null, bool attach = true, bool clearUnitAttentions = true, int physicalBlockSize = 0)
    {
        Store = new MemoryBlockStore(blocks, blockSize, readOnly);
        Context = new LocalLuContext(contextPath);
        Lu = physicalBlockSize == 0
            ? new LogicalUnit(0, Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), Store, Context)
            : new LogicalUnit(0, Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), Store, Context) { PhysicalBlockSize = physicalBlockSize };
        Target = new ScsiTarget(TargetName, [Lu]);
        if (attach)
        {
            Target.NexusAttached(NexusA);
            Target.NexusAttached(NexusB);
            if (clearUnitAttentions)
            {
                ClearUnitAttentions(NexusA);
                ClearUnitAttentions(NexusB);
            }
        }
    }

    public void ClearUnitAttentions(ItNexus nexus, int lun = 0)
    {
        for (int i = 0; i < 32; i++)
        {
            var t = Run(nexus, Cdb.TestUnitReady(), lun: lun);
            if (t.Status == ScsiStatus.Good) return;
        }
        throw new InvalidOperationException("unit attentions do not clear");
    }

    public static ScsiTask NewTask(ItNexus nexus, byte[] cdb, int dataIn = 0, byte[]? dataOut = null, int lun = 0, uint tag = 1)
    {
        var t = new ScsiTask { Nexus = nexus, Lun = LunAddressing.Encode(lun), Tag = tag, Attribute = TaskAttribute.Simple };
        t.SetCdb(cdb);
        if (dataIn > 0) { t.IsRead = true; t.DataIn = new byte[dataIn]; }
        if (dataOut is not null) { t.IsWrite = true; t.DataOut = dataOut; }
        t.ExpectedDataTransferLength = dataOut?.Length ?? dataIn;
        return t;
    }

    public ScsiTask Run(ItNexus nexus, byte[] cdb, int dataIn = 0, byte[]? dataOut = null, int lun = 0)
    {
        var t = NewTask(nexus, cdb, dataIn, dataOut, lun);
        var pending = Target.ExecuteAsync(t);
        if (!pending.IsCompleted) pending.AsTask().GetAwaiter().GetResult();
        return t;
    }

    public ScsiTask Run(byte[] cdb, int dataIn = 0, byte[]? dataOut = null, int lun = 0) => Run(NexusA, cdb, dataIn, dataOut, lun);

    public static byte[] DataIn(ScsiTask t) => t.DataIn[..t.DataInLength].ToArray();
}

/// <summary>Sense data as the initiator would parse it (fixed or descriptor).</summary>
internal readonly record struct Sense(byte ResponseCode, byte Key, byte Asc, byte Ascq, long Information, bool HasSks, byte Sks0, int FieldPointer)
{
    public ushort AscAscq => (ushort)(Asc << 8 | Ascq);
    public bool CommandData => (Sks0 & 0x40) != 0;
    public bool BitPointerValid => (Sks0 & 0x08) != 0;
    public int BitPointer => Sks0 & 0x07;

    public static Sense Parse(ReadOnlySpan<byte> s)
    {
        Assert.True(s.Length >= 8, "sense data too short");
        byte rc = (byte)(s[0] & 0x7F);
        if (rc is 0x70 or 0x71)
        {
            long info = (s[0] & 0x80) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(s[3..]) : -1;
            bool sksv = (s[15] & 0x80) != 0;
            return new Sense(rc, (byte)(s[2] & 0x0F), s[12], s[13], info, sksv, s[15], s[16] << 8 | s[17]);
        }
        Assert.True(rc is 0x72 or 0x73, $"unknown sense response code {rc:X2}");
        long information = -1; bool has = false; byte b0 = 0; int fp = 0;
        int end = 8 + s[7];
        for (int at = 8; at < end; at += 2 + s[at + 1])
        {
            if (s[at] == 0x00 && (s[at + 2] & 0x80) != 0) information = (long)BinaryPrimitives.ReadUInt64BigEndian(s[(at + 4)..]);
            if (s[at] == 0x02) { has = (s[at + 4] & 0x80) != 0; b0 = s[at + 4]; fp = s[at + 5] << 8 | s[at + 6]; }
        }
        return new Sense(rc, (byte)(s[1] & 0x0F), s[2], s[3], information, has, b0, fp);
    }

    public static Sense Of(ScsiTask t)
    {
        Assert.Equal(ScsiStatus.CheckCondition, t.Status);
        return Parse(t.Sense);
    }
}

/// <summary>CDB builders (big-endian fields as on the wire).</summary>
internal static class Cdb
{
    public static byte[] TestUnitReady() => new byte[6];

    public static byte[] Inquiry(bool evpd = false, byte page = 0, ushort allocation = 255)
    {
        var c = new byte[6] { 0x12, (byte)(evpd ? 1 : 0), page, 0, 0, 0 };
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(3), allocation);
        return c;
    }

    public static byte[] RequestSense(bool desc = false, byte allocation = 252) => [0x03, (byte)(desc ? 1 : 0), 0, 0, allocation, 0];

    public static byte[] ReportLuns(uint allocation = 4096, byte select = 0)
    {
        var c = new byte[12];
        c[0] = 0xA0; c[2] = select;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), allocation);
        return c;
    }

    public static byte[] ReadCapacity10() => [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static byte[] ReadCapacity16(uint allocation = 32)
    {
        var c = new byte[16];
        c[0] = 0x9E; c[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), allocation);
        return c;
    }

    /// <summary>READ/WRITE/VERIFY/WRITE AND VERIFY/SYNCHRONIZE CACHE in the size the opcode implies.</summary>
    public static byte[] Block(byte opcode, ulong lba, uint blocks, byte byte1 = 0)
    {
        switch (opcode >> 5)
        {
            case 0:
                return [opcode, (byte)(lba >> 16 & 0x1F), (byte)(lba >> 8), (byte)lba, (byte)blocks, 0];
            case 1:
            case 2:
            {
                var c = new byte[10];
                c[0] = opcode; c[1] = byte1;
                BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), (uint)lba);
                BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), (ushort)blocks);
                return c;
            }
            case 5:
            {
                var c = new byte[12];
                c[0] = opcode; c[1] = byte1;
                BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), (uint)lba);
                BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), blocks);
                return c;
            }
            default:
            {
                var c = new byte[16];
                c[0] = opcode; c[1] = byte1;
                BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
                BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
                return c;
            }
        }
    }

    public static byte[] ModeSense6(byte page, int pc = 0, bool dbd = false, byte allocation = 255, byte subpage = 0) =>
        [0x1A, (byte)(dbd ? 0x08 : 0), (byte)(pc << 6 | page), subpage, allocation, 0];

    public static byte[] ModeSense10(byte page, int pc = 0, bool dbd = false, bool llbaa = false, ushort allocation = 1024)
    {
        var c = new byte[10];
        c[0] = 0x5A; c[1] = (byte)((dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0)); c[2] = (byte)(pc << 6 | page);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), allocation);
        return c;
    }

    public static byte[] ModeSelect6(int length, bool sp = false, bool pf = true) =>
        [0x15, (byte)((pf ? 0x10 : 0) | (sp ? 1 : 0)), 0, 0, (byte)length, 0];

    public static byte[] ModeSelect10(int length, bool sp = false)
    {
        var c = new byte[10];
        c[0] = 0x55; c[1] = (byte)(0x10 | (sp ? 1 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), (ushort)length);
        return c;
    }

    public static byte[] Reserve6() => [0x16, 0, 0, 0, 0, 0];
    public static byte[] Release6() => [0x17, 0, 0, 0, 0, 0];
    public static byte[] Reserve10() => [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    public static byte[] Release10() => [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}
