using System.Buffers.Binary;
using System.Text;

namespace Tessera.Scsi.Tests;

/// <summary>PERSISTENT RESERVE IN/OUT CDBs, parameter lists and parsed responses for the PR tests.</summary>
internal static class Pr
{
    public const byte WE = 1, EA = 3, WERO = 5, EARO = 6, WEAR = 7, EAAR = 8;
    public static readonly byte[] AllTypes = [WE, EA, WERO, EARO, WEAR, EAAR];

    public const int Register = 0, Reserve = 1, Release = 2, Clear = 3, Preempt = 4, PreemptAndAbort = 5, RegisterAndIgnore = 6, RegisterAndMove = 7;

    /// <summary>A third initiator, and the first initiator's port seen through a second target port.</summary>
    public static readonly ItNexus NexusC = new("iqn.1994-05.com.redhat:c", 0x23d000000003, 1, 1);
    public static readonly ItNexus NexusAPort2 = new(Harness.NexusA.InitiatorName, Harness.NexusA.Isid, 2, 1);

    public static byte[] InCdb(int sa, ushort allocation = 8192)
    {
        var c = new byte[10];
        c[0] = 0x5E; c[1] = (byte)sa;
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), allocation);
        return c;
    }

    public static byte[] OutCdb(int sa, int type = 0, int length = 24, int scope = 0)
    {
        var c = new byte[10];
        c[0] = 0x5F; c[1] = (byte)sa; c[2] = (byte)(scope << 4 | type);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(5), (uint)length);
        return c;
    }

    public static byte[] Basic(ulong key, ulong sark = 0, bool specIPt = false, bool allTgPt = false, bool aptpl = false, params byte[][] transportIds)
    {
        int tids = transportIds.Sum(t => t.Length);
        var d = new byte[24 + (specIPt ? 4 + tids : 0)];
        BinaryPrimitives.WriteUInt64BigEndian(d, key);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8), sark);
        d[20] = (byte)((specIPt ? 0x08 : 0) | (allTgPt ? 0x04 : 0) | (aptpl ? 0x01 : 0));
        if (specIPt)
        {
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(24), (uint)tids);
            int at = 28;
            foreach (var t in transportIds) { t.CopyTo(d, at); at += t.Length; }
        }
        return d;
    }

    /// <summary>iSCSI TransportID: format 01h for "name,i,0xISID", 00h for a bare name.</summary>
    public static byte[] Tid(string text, bool port)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        int additional = Math.Max(20, (bytes.Length + 1 + 3) & ~3);
        var d = new byte[4 + additional];
        d[0] = (byte)((port ? 0x40 : 0) | 0x05);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)additional);
        bytes.CopyTo(d, 4);
        return d;
    }

    public static byte[] MoveList(ulong key, ulong sark, ushort port, byte[] tid, bool unreg = false, bool aptpl = false)
    {
        var d = new byte[24 + tid.Length];
        BinaryPrimitives.WriteUInt64BigEndian(d, key);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8), sark);
        d[17] = (byte)((unreg ? 0x02 : 0) | (aptpl ? 0x01 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(18), port);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), (uint)tid.Length);
        tid.CopyTo(d, 24);
        return d;
    }

    public static ScsiTask Out(this Harness h, ItNexus n, int sa, byte[] list, int type = 0, int scope = 0) =>
        h.Run(n, OutCdb(sa, type, list.Length, scope), dataOut: list);

    public static ScsiStatus RegisterKey(this Harness h, ItNexus n, ulong sark, ulong key = 0, bool aptpl = false, bool allTgPt = false) =>
        h.Out(n, Register, Basic(key, sark, aptpl: aptpl, allTgPt: allTgPt)).Status;

    public static ScsiStatus RegisterIgnore(this Harness h, ItNexus n, ulong sark, bool aptpl = false) =>
        h.Out(n, RegisterAndIgnore, Basic(0, sark, aptpl: aptpl)).Status;

    public static ScsiStatus ReserveAs(this Harness h, ItNexus n, ulong key, byte type) => h.Out(n, Reserve, Basic(key), type).Status;

    public static ScsiStatus ReleaseAs(this Harness h, ItNexus n, ulong key, byte type) => h.Out(n, Release, Basic(key), type).Status;

    public static (uint Generation, ulong[] Keys) ReadKeys(this Harness h, ItNexus? n = null, ushort allocation = 8192)
    {
        var t = h.Run(n ?? Harness.NexusA, InCdb(0, allocation), dataIn: allocation);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        uint gen = BinaryPrimitives.ReadUInt32BigEndian(d);
        int len = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        int n8 = Math.Min(len, d.Length - 8) / 8;
        var keys = new ulong[n8];
        for (int i = 0; i < n8; i++) keys[i] = BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8 + 8 * i));
        return (gen, keys);
    }

    public static void AssertKeys((uint Generation, ulong[] Keys) actual, uint generation, params ulong[] keys)
    {
        Assert.Equal(generation, actual.Generation);
        Assert.Equal(keys, actual.Keys);
    }

    /// <summary>READ RESERVATION: null when not reserved, else (key, scope, type).</summary>
    public static (ulong Key, int Scope, int Type)? ReadReservation(this Harness h, ItNexus? n = null)
    {
        var t = h.Run(n ?? Harness.NexusA, InCdb(1), dataIn: 8192);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        uint len = BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        if (len == 0) { Assert.Equal(8, d.Length); return null; }
        Assert.Equal(16u, len);
        Assert.Equal(24, d.Length);
        return (BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)), d[21] >> 4, d[21] & 0x0F);
    }

    public sealed record FullStatus(ulong Key, bool AllTgPt, bool Holder, int Scope, int Type, ushort RelativePort, byte FormatAndProtocol, string Initiator);

    public static (uint Generation, List<FullStatus> Descriptors) ReadFullStatus(this Harness h, ItNexus? n = null)
    {
        var t = h.Run(n ?? Harness.NexusA, InCdb(3), dataIn: 8192);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        uint gen = BinaryPrimitives.ReadUInt32BigEndian(d);
        int len = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        Assert.Equal(len, d.Length - 8);
        var list = new List<FullStatus>();
        for (int at = 8; at < d.Length;)
        {
            var x = d.AsSpan(at);
            int tidLen = (int)BinaryPrimitives.ReadUInt32BigEndian(x[20..]);
            var tid = x.Slice(24, tidLen);
            Assert.Equal(tidLen - 4, BinaryPrimitives.ReadUInt16BigEndian(tid[2..]));
            Assert.Equal(0, tidLen % 4);
            Assert.True(tidLen >= 24);
            int nul = tid[4..].IndexOf((byte)0);
            Assert.True(nul > 0, "TransportID name must be null terminated");
            Assert.True(tid[(4 + nul)..].IndexOfAnyExcept((byte)0) < 0, "TransportID padding must be zero");
            list.Add(new FullStatus(BinaryPrimitives.ReadUInt64BigEndian(x), (x[12] & 2) != 0, (x[12] & 1) != 0, x[13] >> 4, x[13] & 0x0F,
                BinaryPrimitives.ReadUInt16BigEndian(x[18..]), tid[0], Encoding.ASCII.GetString(tid.Slice(4, nul))));
            at += 24 + tidLen;
        }
        return (gen, list);
    }

    /// <summary>Attaches a nexus and consumes its power-on unit attention.</summary>
    public static void Attach(this Harness h, ItNexus n)
    {
        h.Target.NexusAttached(n);
        h.ClearUnitAttentions(n);
    }

    /// <summary>The next command's unit attention ASC/ASCQ on <paramref name="n"/>, or -1 when none is pending.</summary>
    public static int PendingUnitAttention(this Harness h, ItNexus n)
    {
        var t = h.Run(n, Cdb.TestUnitReady());
        if (t.Status == ScsiStatus.Good) return -1;
        var s = Sense.Of(t);
        Assert.Equal(6, s.Key);
        return s.AscAscq;
    }
}
