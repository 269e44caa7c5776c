using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

/// <summary>PERSISTENT RESERVE IN parameter data (SPC-5 6.16).</summary>
public class PrInTests
{
    private static readonly ItNexus A = Harness.NexusA, B = Harness.NexusB;

    [Fact]
    public void ReadKeysKeepsTheAdditionalLengthWhenTruncated()
    {
        // libiscsi PrinReadKeys.Truncate: allocation length 8 leaves only the header.
        var h = new Harness();
        h.RegisterKey(A, 0x0102030405060708);
        h.RegisterKey(B, 0x1112131415161718);
        var t = h.Run(A, Pr.InCdb(0, allocation: 8), dataIn: 8);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(8, d.Length);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
        Assert.Equal(8, t.CommandTransferLength);
        Pr.AssertKeys(h.ReadKeys(B), 2u, 0x0102030405060708, 0x1112131415161718);
    }

    [Fact]
    public void ReadReservationWithAndWithoutReservation()
    {
        var h = new Harness();
        h.RegisterKey(A, 0xAB);
        var none = Harness.DataIn(h.Run(A, Pr.InCdb(1), dataIn: 100));
        Assert.Equal([0, 0, 0, 1, 0, 0, 0, 0], none); // PRgeneration 1, ADDITIONAL LENGTH 0
        h.ReserveAs(A, 0xAB, Pr.WERO);
        var d = Harness.DataIn(h.Run(B, Pr.InCdb(1), dataIn: 100));
        Assert.Equal(24, d.Length);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
        Assert.Equal(0xABUL, BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)));
        Assert.Equal(0x05, d[21]); // SCOPE LU_SCOPE, TYPE WE-RO
    }

    [Fact]
    public void ReportCapabilities()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(A, Pr.InCdb(2), dataIn: 100));
        Assert.Equal(8, d.Length);
        Assert.Equal(8, BinaryPrimitives.ReadUInt16BigEndian(d));
        Assert.Equal(0x0D, d[2]); // CRH 0, SIP_C, ATP_C, PTPL_C
        Assert.Equal(0xB0, d[3]); // TMV, ALLOW COMMANDS 011b, PTPL_A 0
        Assert.Equal(0xEA01, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(4))); // all six types
        h.RegisterKey(A, 1, aptpl: true);
        Assert.Equal(0xB1, Harness.DataIn(h.Run(A, Pr.InCdb(2), dataIn: 100))[3]); // PTPL_A follows APTPL
    }

    [Fact]
    public void ReadFullStatusDescribesEveryRegistrationWithItsTransportId()
    {
        var h = new Harness();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(B, 0xB, Pr.EA);
        var (gen, list) = h.ReadFullStatus();
        Assert.Equal(2u, gen);
        Assert.Equal(2, list.Count);
        Assert.Equal(new Pr.FullStatus(0xA, false, false, 0, 0, 1, 0x45, "iqn.1994-05.com.redhat:a,i,0x23d000000001"), list[0]);
        Assert.Equal(new Pr.FullStatus(0xB, false, true, 0, Pr.EA, 1, 0x45, "iqn.1994-05.com.redhat:b,i,0x23d000000002"), list[1]);

        // The exact bytes of the first descriptor's TransportID: 01h format, iSCSI, padded to a multiple of 4.
        var raw = Harness.DataIn(h.Run(A, Pr.InCdb(3), dataIn: 8192));
        var tid = raw.AsSpan(8 + 24);
        string text = "iqn.1994-05.com.redhat:a,i,0x23d000000001";
        int padded = (text.Length + 1 + 3) & ~3;
        Assert.Equal((uint)(4 + padded), BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(8 + 20)));
        Assert.Equal(0x45, tid[0]);
        Assert.Equal(padded, BinaryPrimitives.ReadUInt16BigEndian(tid[2..]));
        Assert.Equal(text, System.Text.Encoding.ASCII.GetString(tid.Slice(4, text.Length)));
        Assert.Equal(0, tid[4 + text.Length]);
    }

    [Fact]
    public void ServiceActionsBeyondReadFullStatusAreInvalid()
    {
        // libiscsi PrinServiceactionRange: 0-3 work, 4-1Fh fail.
        var h = new Harness();
        for (int sa = 0; sa < 4; sa++) Assert.Equal(ScsiStatus.Good, h.Run(A, Pr.InCdb(sa), dataIn: 8192).Status);
        for (int sa = 4; sa < 0x20; sa++)
        {
            var s = Sense.Of(h.Run(A, Pr.InCdb(sa), dataIn: 8192));
            Assert.Equal((0x2400, 1, 4), (s.AscAscq, s.FieldPointer, s.BitPointer));
        }
    }

    [Fact]
    public void PersistentReserveInReportsUnitAttentionsFirst()
    {
        var h = new Harness();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.Out(A, Pr.Preempt, Pr.Basic(0xA, 0xB));
        Assert.Equal(0x2A05, Sense.Of(h.Run(B, Pr.InCdb(0), dataIn: 8192)).AscAscq);
        Pr.AssertKeys(h.ReadKeys(B), 3u, 0xA);
    }
}
