using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

/// <summary>REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS, VPD 86h.</summary>
public class ReportSupportedTests
{
    private readonly record struct Entry(byte Opcode, ushort ServiceAction, bool Servactv, bool Ctdp, ushort CdbLength, byte[] Timeouts);

    private static List<Entry> ParseAll(byte[] d)
    {
        int end = 4 + (int)BinaryPrimitives.ReadUInt32BigEndian(d);
        Assert.Equal(d.Length, end);
        var list = new List<Entry>();
        for (int at = 4; at < end;)
        {
            bool ctdp = (d[at + 5] & 0x02) != 0;
            var timeouts = ctdp ? d.AsSpan(at + 8, 12).ToArray() : [];
            list.Add(new Entry(d[at], BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 2)), (d[at + 5] & 0x01) != 0, ctdp,
                BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 6)), timeouts));
            at += ctdp ? 20 : 8;
        }
        return list;
    }

    [Fact]
    public void AllCommandsListsEveryRegisteredCommandOnce()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReportSupportedOpcodes(), dataIn: 65535);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var entries = ParseAll(Harness.DataIn(t));
        var expected = CommandTable.All().Select(c => (c.Opcode, c.ServiceAction < 0 ? 0 : c.ServiceAction, c.ServiceAction >= 0, c.CdbLength)).ToList();
        Assert.Equal(expected, entries.Select(e => (e.Opcode, (int)e.ServiceAction, e.Servactv, (int)e.CdbLength)).ToList());
        Assert.Contains(entries, e => e.Opcode == 0x28 && !e.Servactv && e.CdbLength == 10);                         // READ(10)
        Assert.Contains(entries, e => e.Opcode == 0x9E && e.Servactv && e.ServiceAction == 0x10 && e.CdbLength == 16); // READ CAPACITY(16)
        Assert.Contains(entries, e => e.Opcode == 0xA3 && e.ServiceAction == 0x0C);                                  // itself
        Assert.Contains(entries, e => e.Opcode == 0x83 && e.ServiceAction == 0x00 && e.Servactv);                    // EXTENDED COPY(LID1)
        Assert.All(entries, e => Assert.False(e.Ctdp));
        Assert.All(entries, e => Assert.True(e.Servactv || e.ServiceAction == 0));
    }

    [Fact]
    public void RctdAddsATimeoutsDescriptorToEveryCommand()
    {
        var h = new Harness();
        var entries = ParseAll(Harness.DataIn(h.Run(SpcCdb.ReportSupportedOpcodes(rctd: true), dataIn: 65535)));
        Assert.NotEmpty(entries);
        Assert.All(entries, e =>
        {
            Assert.True(e.Ctdp);
            Assert.Equal(0x0A, BinaryPrimitives.ReadUInt16BigEndian(e.Timeouts));
            Assert.True(BinaryPrimitives.ReadUInt32BigEndian(e.Timeouts.AsSpan(8)) >= BinaryPrimitives.ReadUInt32BigEndian(e.Timeouts.AsSpan(4)));
        });
        var xcopy = entries.Single(e => e.Opcode == 0x83);
        var read = entries.Single(e => e.Opcode == 0x28);
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(xcopy.Timeouts.AsSpan(8)) > BinaryPrimitives.ReadUInt32BigEndian(read.Timeouts.AsSpan(8)));
    }

    [Fact]
    public void OneCommandReturnsTheCdbUsageDataDispatchUses()
    {
        var h = new Harness();
        foreach (var c in CommandTable.All())
        {
            int options = c.ServiceAction >= 0 ? 0b010 : 0b001;
            var t = h.Run(SpcCdb.ReportSupportedOpcodes(options, opcode: c.Opcode, sa: (ushort)Math.Max(0, c.ServiceAction)), dataIn: 512);
            Assert.Equal(ScsiStatus.Good, t.Status);
            var d = Harness.DataIn(t);
            Assert.Equal(0b011, d[1] & 0x07); // supported as the standard says
            Assert.Equal(c.CdbLength, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
            var usage = d.AsSpan(4, c.CdbLength).ToArray();
            Assert.Equal(c.Opcode, usage[0]);
            if (c.ServiceAction >= 0) Assert.Equal(c.ServiceAction, usage[1] & 0x1F);
            for (int i = 2; i < c.CdbLength; i++) Assert.Equal(c.CdbUsage[i], usage[i]);
            Assert.Equal(d.Length, 4 + c.CdbLength);
        }
    }

    [Fact]
    public void Read10UsageDataRejectsWhatDispatchRejects()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(SpcCdb.ReportSupportedOpcodes(0b001, opcode: 0x28), dataIn: 512));
        Assert.Equal(new byte[] { 0x28, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x00 }, d.AsSpan(4, 10).ToArray());
        // a bit outside the map (RDPROTECT) fails with INVALID FIELD IN CDB at byte 1
        var s = Sense.Of(h.Run(Cdb.Block(0x28, 0, 1, byte1: 0x20), dataIn: 512));
        Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
        Assert.Equal(1, s.FieldPointer);
    }

    [Fact]
    public void ReportingOptionsMustMatchWhetherTheOpcodeHasServiceActions()
    {
        var h = new Harness();
        // 001b on an opcode with service actions, 010b on one without: INVALID FIELD IN CDB
        Assert.Equal(Asc.InvalidFieldInCdb, Sense.Of(h.Run(SpcCdb.ReportSupportedOpcodes(0b001, opcode: 0x9E), dataIn: 512)).AscAscq);
        Assert.Equal(Asc.InvalidFieldInCdb, Sense.Of(h.Run(SpcCdb.ReportSupportedOpcodes(0b010, opcode: 0x28), dataIn: 512)).AscAscq);
        // 011b accepts both
        Assert.Equal(0b011, Harness.DataIn(h.Run(SpcCdb.ReportSupportedOpcodes(0b011, opcode: 0x28, sa: 7), dataIn: 512))[1] & 7);
        Assert.Equal(0b011, Harness.DataIn(h.Run(SpcCdb.ReportSupportedOpcodes(0b011, opcode: 0x9E, sa: 0x10), dataIn: 512))[1] & 7);
        // reserved reporting options
        var s = Sense.Of(h.Run(SpcCdb.ReportSupportedOpcodes(0b100), dataIn: 512));
        Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
        Assert.Equal(2, s.FieldPointer);
    }

    [Theory]
    [InlineData(0b001, 0xC1, 0)]   // no such opcode
    [InlineData(0b010, 0x9E, 0x1F)] // unsupported service action
    [InlineData(0b011, 0x9E, 0x100)] // service action beyond the 5-bit field
    public void UnsupportedCommandsReportSupport001(int options, byte opcode, int sa)
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReportSupportedOpcodes(options, opcode: opcode, sa: (ushort)sa), dataIn: 512);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(new byte[] { 0, 0b001, 0, 0 }, Harness.DataIn(t));
    }

    [Fact]
    public void OneCommandWithRctdAppendsTimeouts()
    {
        var h = new Harness();
        var d = Harness.DataIn(h.Run(SpcCdb.ReportSupportedOpcodes(0b001, rctd: true, opcode: 0x2A), dataIn: 512));
        Assert.Equal(0x80, d[1] & 0x80); // CTDP
        Assert.Equal(4 + 10 + 12, d.Length);
        Assert.Equal(0x0A, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(14)));
        Assert.Equal(30u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(22)));
    }

    [Fact]
    public void AllocationLengthTruncates()
    {
        var h = new Harness();
        var t = h.Run(SpcCdb.ReportSupportedOpcodes(allocation: 16), dataIn: 16);
        Assert.Equal(16, t.DataInLength);
        Assert.Equal(16, t.CommandTransferLength);
        Assert.Equal(CommandTable.All().Count() * 8, (int)BinaryPrimitives.ReadUInt32BigEndian(t.DataIn.Span));
    }

    [Fact]
    public void TaskManagementFunctionsBasicAndExtended()
    {
        var h = new Harness();
        var basic = Harness.DataIn(h.Run(SpcCdb.ReportSupportedTmf(), dataIn: 16));
        Assert.Equal(4, basic.Length);
        Assert.Equal(0x80 | 0x40 | 0x10 | 0x08, basic[0]); // ATS ATSS CTSS LURS; no CLEAR ACA, no QUERY TASK
        Assert.Equal(0, basic[1]);
        Assert.Equal(0, basic[3]);

        var ext = Harness.DataIn(h.Run(SpcCdb.ReportSupportedTmf(repd: true), dataIn: 16));
        Assert.Equal(16, ext.Length);
        Assert.Equal(basic[0], ext[0]);
        Assert.Equal(0x0C, ext[3]);
        Assert.Equal(0x01, ext[4] & 0x01); // TMFTMOV
        Assert.Equal(0x80, ext[6] & 0x80); // ATTS: ABORT TASK uses the short timeout
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(ext.AsSpan(8)) > BinaryPrimitives.ReadUInt32BigEndian(ext.AsSpan(12)));
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(ext.AsSpan(12)) > 0);
    }

    [Fact]
    public void TaskManagementFunctionsAllocationBelowFourIsInvalid()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(SpcCdb.ReportSupportedTmf(allocation: 3), dataIn: 3));
        Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
        Assert.Equal(6, s.FieldPointer);
        var t = h.Run(SpcCdb.ReportSupportedTmf(repd: true, allocation: 4), dataIn: 4);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Equal(0x0C, t.DataIn.Span[3]); // additional length not altered by the allocation length
    }

    [Fact]
    public void ExtendedInquiryDataPage()
    {
        var h = new Harness();
        var t = h.Run(Cdb.Inquiry(true, 0x86), dataIn: 255);
        Assert.Equal(ScsiStatus.Good, t.Status);
        var d = Harness.DataIn(t);
        Assert.Equal(64, d.Length);
        Assert.Equal(0x86, d[1]);
        Assert.Equal(0x3C, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
        Assert.Equal(0, d[4] & 0x38);       // SPT: no protection information
        Assert.Equal(0x01, d[5]);           // SIMPSUP only
        Assert.Equal(0x01, d[6] & 0x03);    // V_SUP, no NV_SUP
        Assert.Equal(252, d[13]);           // MAXIMUM SUPPORTED SENSE DATA LENGTH
    }

    [Fact]
    public void NoLogicalUnitStillRejectsMaintenanceIn()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(SpcCdb.ReportSupportedOpcodes(), dataIn: 512, lun: 5));
        Assert.Equal(Asc.LogicalUnitNotSupported, s.AscAscq);
    }
}
