using System.Buffers.Binary;
using System.Text;

namespace Tessera.Scsi.Tests;

public class InquiryTests
{
    [Fact]
    public void StandardDataDescribesADirectAccessDevice()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Inquiry(allocation: 260), dataIn: 260);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(96, d.Length);
        Assert.Equal(96, t.CommandTransferLength);
        Assert.Equal(0x00, d[0]);               // PQ 000b, type 00h
        Assert.Equal(0x06, d[2]);               // VERSION
        Assert.Equal(0x02, d[3] & 0x0F);        // RESPONSE DATA FORMAT
        Assert.Equal(0, d[3] & 0xC0);           // no AERC/TRMTSK
        Assert.Equal(d.Length - 5, d[4]);       // ADDITIONAL LENGTH
        Assert.Equal(0x02, d[7] & 0x02);        // CMDQUE
        Assert.Equal(0x10, d[5] & 0x30);        // TPGS 01b: implicit ALUA (REPORT TARGET PORT GROUPS)
        Assert.Equal(0x08, d[5] & 0x08);        // 3PC: EXTENDED COPY
        Assert.Equal("TESSERA ", Encoding.ASCII.GetString(d, 8, 8));
        Assert.Equal("Tessera volume  ", Encoding.ASCII.GetString(d, 16, 16));
        var versions = Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(58 + 2 * i))).ToArray();
        Assert.Contains((ushort)0x00A0, versions); // SAM-5
        Assert.Contains((ushort)0x05C0, versions); // SPC-5
        Assert.Contains((ushort)0x0600, versions); // SBC-4
        Assert.Contains((ushort)0x0960, versions); // iSCSI
    }

    [Fact]
    public void AllocationLengthTruncatesAndIsTheCommandLength()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Inquiry(allocation: 36), dataIn: 36);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(36, t.DataInLength);
        Assert.Equal(36, t.CommandTransferLength);

        // EDTL smaller than the allocation length: the transport takes what fits, overflow is visible.
        var small = h.Run(Cdb.Inquiry(allocation: 96), dataIn: 8);
        Assert.Equal(8, small.DataInLength);
        Assert.Equal(96, small.CommandTransferLength);
    }

    [Fact]
    public void SupportedVpdPagesAreSortedAndIncludeTheMandatoryOnes()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0x00), dataIn: 255));
        var pages = d.AsSpan(4, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2))).ToArray();
        Assert.Equal(pages.Order().ToArray(), pages);
        foreach (var mandatory in new byte[] { 0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1 }) Assert.Contains(mandatory, pages);
        foreach (var p in pages)
        {
            var page = h.Run(Cdb.Inquiry(true, p), dataIn: 255);
            Assert.Equal(ScsiStatus.Good, page.Status);
            Assert.Equal(p, page.DataIn.Span[1]);
            Assert.Equal(page.DataInLength - 4, BinaryPrimitives.ReadUInt16BigEndian(page.DataIn.Span[2..]));
        }
    }

    [Fact]
    public void UnitSerialNumberIsTheVolumeUuid()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0x80), dataIn: 255));
        Assert.Equal("0f1e2d3c4b5a69788796a5b4c3d2e1f0", Encoding.ASCII.GetString(d, 4, d[3]));
    }

    [Fact]
    public void DeviceIdentificationHasNaaAndPortDesignators()
    {
        var h = new Harness();
        var nexus = new ItNexus("iqn.x:init", 1, RelativeTargetPortId: 3, TargetPortGroupId: 7);
        h.Target.NexusAttached(nexus);
        var d = Harness.DataIn(h.Run(nexus, Cdb.Inquiry(true, 0x83), dataIn: 1024));
        var found = new Dictionary<(int Assoc, int Type), byte[]>();
        for (int at = 4; at < d.Length; at += 4 + d[at + 3])
            found[((d[at + 1] >> 4) & 3, d[at + 1] & 0x0F)] = d.AsSpan(at + 4, d[at + 3]).ToArray();

        var naa = found[(0, 3)];
        Assert.Equal(16, naa.Length);
        Assert.Equal(6, naa[0] >> 4);  // NAA IEEE Registered Extended
        // 100 bits after the company id are the volume UUID's leading bits: 0f1e2d3c4b5a6978 8796a…
        Assert.Equal(0x0f, (naa[3] & 0x0F) << 4 | naa[4] >> 4);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(found[(1, 4)].AsSpan(2)));  // relative target port
        Assert.Equal(7, BinaryPrimitives.ReadUInt16BigEndian(found[(1, 5)].AsSpan(2)));  // target port group
        Assert.StartsWith(Harness.TargetName + ",t,0x0003", Encoding.UTF8.GetString(found[(1, 8)]));
        Assert.Equal(Harness.TargetName, Encoding.UTF8.GetString(found[(2, 8)]).TrimEnd('\0'));
        Assert.Equal(0, found[(2, 8)].Length % 4);
    }

    [Fact]
    public void BlockLimitsAndCharacteristics()
    {
        var h = new Harness();
        var b0 = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0xB0), dataIn: 255));
        Assert.Equal(0x40, b0.Length);
        Assert.Equal((uint)h.Lu.MaximumTransferBlocks, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(8)));
        Assert.Equal(8, BinaryPrimitives.ReadUInt16BigEndian(b0.AsSpan(6))); // 4 KiB granularity of 512-byte blocks
        var b1 = Harness.DataIn(h.Run(Cdb.Inquiry(true, 0xB1), dataIn: 255));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(b1.AsSpan(4))); // non-rotating
    }

    [Fact]
    public void UnknownVpdPageAndPageCodeWithoutEvpdAreInvalidFields()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(Cdb.Inquiry(true, 0xC7), dataIn: 255));
        Assert.Equal((0x5, 0x2400, true, true, 2), (s.Key, s.AscAscq, s.HasSks, s.CommandData, s.FieldPointer));
        s = Sense.Of(h.Run(Cdb.Inquiry(false, 0x80), dataIn: 255));
        Assert.Equal((0x2400, 2), (s.AscAscq, s.FieldPointer));
        // CmdDt (obsolete, byte 1 bit 1) is not supported.
        s = Sense.Of(h.Run([0x12, 0x02, 0, 0, 255, 0], dataIn: 255));
        Assert.Equal((0x2400, 1, true, 1), (s.AscAscq, s.FieldPointer, s.BitPointerValid, s.BitPointer));
    }

    [Fact]
    public async Task MissingLunAnswersWithQualifier011()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Inquiry(), dataIn: 255, lun: 5);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(0x7F, t.DataIn.Span[0]);
        var tur = h.Run(Cdb.TestUnitReady(), lun: 5);
        var s = Sense.Of(tur);
        Assert.Equal((0x5, 0x2500), (s.Key, s.AscAscq));
        var rs = h.Run(Cdb.RequestSense(), dataIn: 252, lun: 5);
        Assert.Equal(ScsiStatus.Good, rs.Status);
        var data = Sense.Parse(Harness.DataIn(rs));
        Assert.Equal((0x5, 0x2500), (data.Key, data.AscAscq));
        // A LUN field in an addressing method Tessera does not use is a missing LUN too.
        var odd = Harness.NewTask(Harness.NexusA, Cdb.TestUnitReady());
        odd.Lun = 0xC000_0000_0000_0000UL;
        await h.Target.ExecuteAsync(odd);
        Assert.Equal(0x2500, Sense.Of(odd).AscAscq);
    }
}
