using System.Buffers.Binary;

namespace Tessera.Scsi.Tests.Sbc;

/// <summary>A target with one LU over any <see cref="IBlockStore"/>, two attached nexuses, unit attentions cleared.</summary>
internal sealed class SbcHarness
{
    public ScsiTarget Target { get; }
    public LogicalUnit Lu { get; }
    public LocalLuContext Context { get; } = new(null);
    public IBlockStore Store { get; }

    public SbcHarness(IBlockStore store)
    {
        Store = store;
        Lu = new LogicalUnit(0, Guid.Parse("5b1c0000-0000-4000-8000-00000000c0de"), store, Context);
        Target = new ScsiTarget(Harness.TargetName, [Lu]);
        foreach (var n in new[] { Harness.NexusA, Harness.NexusB })
        {
            Target.NexusAttached(n);
            for (int i = 0; i < 32 && Run(n, Cdb.TestUnitReady()).Status != ScsiStatus.Good; i++) { }
        }
    }

    public static SbcHarness Thin(long blocks = 4096, int blockSize = 512) => new(new ThinMemoryStore(blocks, blockSize));

    public ThinMemoryStore Thin0 => (ThinMemoryStore)Store;

    public ScsiTask Run(ItNexus nexus, byte[] cdb, int dataIn = 0, byte[]? dataOut = null)
    {
        var t = Harness.NewTask(nexus, cdb, dataIn, dataOut);
        var pending = Target.ExecuteAsync(t);
        if (!pending.IsCompleted) pending.AsTask().GetAwaiter().GetResult();
        return t;
    }

    public ScsiTask Run(byte[] cdb, int dataIn = 0, byte[]? dataOut = null) => Run(Harness.NexusA, cdb, dataIn, dataOut);

    public async Task<ScsiTask> RunAsync(ItNexus nexus, byte[] cdb, int dataIn = 0, byte[]? dataOut = null)
    {
        var t = Harness.NewTask(nexus, cdb, dataIn, dataOut);
        await Target.ExecuteAsync(t);
        return t;
    }

    public byte[] Vpd(byte page) => Harness.DataIn(Run(Cdb.Inquiry(evpd: true, page: page, allocation: 255), dataIn: 255));
}

/// <summary>CDB builders for the SBC commands of this folder.</summary>
internal static class SbcCdb
{
    public static byte[] Unmap(int parameterLength, bool anchor = false)
    {
        var c = new byte[10];
        c[0] = 0x42; c[1] = (byte)(anchor ? 1 : 0);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), (ushort)parameterLength);
        return c;
    }

    /// <summary>UNMAP parameter list with the given (LBA, blocks) descriptors.</summary>
    public static byte[] UnmapList(params (ulong Lba, uint Blocks)[] descriptors)
    {
        var d = new byte[8 + 16 * descriptors.Length];
        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(d.Length - 2));
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)(16 * descriptors.Length));
        for (int i = 0; i < descriptors.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8 + 16 * i), descriptors[i].Lba);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(16 + 16 * i), descriptors[i].Blocks);
        }
        return d;
    }

    public static byte[] WriteSame10(ulong lba, ushort blocks, bool unmap = false, bool anchor = false)
    {
        var c = new byte[10];
        c[0] = 0x41; c[1] = (byte)((anchor ? 0x10 : 0) | (unmap ? 0x08 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), (uint)lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    public static byte[] WriteSame16(ulong lba, uint blocks, bool unmap = false, bool anchor = false, bool ndob = false)
    {
        var c = new byte[16];
        c[0] = 0x93; c[1] = (byte)((anchor ? 0x10 : 0) | (unmap ? 0x08 : 0) | (ndob ? 1 : 0));
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
        return c;
    }

    public static byte[] GetLbaStatus(ulong lba, uint allocation = 4096)
    {
        var c = new byte[16];
        c[0] = 0x9E; c[1] = 0x12;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), allocation);
        return c;
    }

    /// <summary>(LBA, blocks, provisioning status) of each descriptor of GET LBA STATUS data.</summary>
    public static List<(ulong Lba, uint Blocks, int Status)> LbaStatusDescriptors(byte[] data)
    {
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(data) + 4;
        var list = new List<(ulong, uint, int)>();
        for (int at = 8; at + 16 <= Math.Min(length, data.Length); at += 16)
            list.Add((BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(at)), BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at + 8)), data[at + 12] & 0x0F));
        return list;
    }

    public static byte[] CompareAndWrite(ulong lba, byte blocks, byte byte1 = 0)
    {
        var c = new byte[16];
        c[0] = 0x89; c[1] = byte1;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        c[13] = blocks;
        return c;
    }

    public static byte[] WriteAtomic16(ulong lba, ushort blocks, ushort boundary = 0, byte byte1 = 0)
    {
        var c = new byte[16];
        c[0] = 0x9C; c[1] = byte1;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(10), boundary);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(12), blocks);
        return c;
    }

    public static byte[] OrWrite16(ulong lba, uint blocks, byte byte1 = 0) => Cdb.Block(0x8B, lba, blocks, byte1);

    public static byte[] Sanitize(int action, int parameterLength = 0, bool immediate = false, bool ause = false)
    {
        var c = new byte[10];
        c[0] = 0x48; c[1] = (byte)((immediate ? 0x80 : 0) | (ause ? 0x20 : 0) | action);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), (ushort)parameterLength);
        return c;
    }

    /// <summary>SANITIZE OVERWRITE parameter list.</summary>
    public static byte[] OverwriteList(byte[] pattern, int count = 1, bool invert = false)
    {
        var d = new byte[4 + pattern.Length];
        d[0] = (byte)((invert ? 0x80 : 0) | count);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)pattern.Length);
        pattern.CopyTo(d, 4);
        return d;
    }
}
