namespace Tessera.Scsi.Tests;

/// <summary>A read-only volume presents a write-protected LU: WP in the mode parameter header, DATA PROTECT for writes.</summary>
public class ReadOnlyTests
{
    [Fact]
    public void ModeParameterHeadersCarryWp()
    {
        var h = new Harness(readOnly: true);
        var six = Harness.DataIn(h.Run(Cdb.ModeSense6(0x3F), dataIn: 255));
        Assert.Equal(0x80, six[2] & 0x80);
        var ten = Harness.DataIn(h.Run(Cdb.ModeSense10(0x3F), dataIn: 1024));
        Assert.Equal(0x80, ten[3] & 0x80);

        var rw = new Harness();
        Assert.Equal(0, Harness.DataIn(rw.Run(Cdb.ModeSense6(0x3F), dataIn: 255))[2] & 0x80);
        Assert.Equal(0, Harness.DataIn(rw.Run(Cdb.ModeSense10(0x3F), dataIn: 1024))[3] & 0x80);
    }

    /// <summary>Every registered command that modifies the medium, with a CDB that is otherwise valid.</summary>
    public static TheoryData<byte, int> WriteCommands()
    {
        var data = new TheoryData<byte, int>();
        foreach (var c in CommandTable.All())
            if ((c.Flags & CommandFlags.WritesMedium) != 0) data.Add(c.Opcode, c.ServiceAction);
        return data;
    }

    [Theory]
    [MemberData(nameof(WriteCommands))]
    public void EveryMediumWriteFailsDataProtect(byte opcode, int serviceAction)
    {
        var h = new Harness(readOnly: true);
        var c = CommandTable.All().Single(d => d.Opcode == opcode && d.ServiceAction == serviceAction);
        var cdb = new byte[c.CdbLength];
        cdb[0] = opcode;
        if (serviceAction >= 0) cdb[1] = (byte)serviceAction;
        // one block at LBA 0 where the layout has a transfer length; zero elsewhere is harmless
        if (c.CdbLength == 10) cdb[8] = 1; else if (c.CdbLength == 12) cdb[9] = 1; else if (c.CdbLength == 16) cdb[13] = 1; else if (c.CdbLength == 6) cdb[4] = 1;
        var t = h.Run(cdb, dataOut: new byte[4096]);
        var s = Sense.Of(t);
        Assert.Equal((byte)SenseKey.DataProtect, s.Key);
        Assert.Equal(Asc.WriteProtected, s.AscAscq);
        Assert.All(h.Store.Data, b => Assert.Equal(0, b));
    }

    [Fact]
    public void TheWriteCommandsOfTheLibiscsiReadOnlySuiteAreCovered()
    {
        var writes = CommandTable.All().Where(c => (c.Flags & CommandFlags.WritesMedium) != 0).Select(c => c.Opcode).ToHashSet();
        foreach (byte op in new byte[] { 0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E })
            Assert.Contains(op, writes);
    }

    [Fact]
    public void InvalidCdbFieldsStillComeFirst()
    {
        // libiscsi WriteProtect tests: WRPROTECT != 0 without protection information is INVALID FIELD IN CDB,
        // also on a read-only LU.
        var h = new Harness(readOnly: true);
        for (int wrprotect = 1; wrprotect < 8; wrprotect++)
        {
            var s = Sense.Of(h.Run(Cdb.Block(0x2A, 0, 1, byte1: (byte)(wrprotect << 5)), dataOut: new byte[512]));
            Assert.Equal(Asc.InvalidFieldInCdb, s.AscAscq);
        }
    }

    [Fact]
    public void ReadsAndNonMediumCommandsWork()
    {
        var h = new Harness(readOnly: true);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x28, 0, 8), dataIn: 4096).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2F, 0, 8)).Status); // VERIFY
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x35, 0, 0)).Status); // SYNCHRONIZE CACHE
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.TestUnitReady()).Status);
    }

    [Fact]
    public void SoftwareWriteProtectBehavesLikeAReadOnlyVolume()
    {
        var h = new Harness();
        var control = Harness.DataIn(h.Run(Cdb.ModeSense6(0x0A, dbd: true), dataIn: 255));
        var select = new byte[4 + control[0] - 3];
        Array.Copy(control, 4, select, 4, select.Length - 4);
        select[4] &= 0x7F;
        select[8] |= 0x08; // SWP
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(select.Length), dataOut: select).Status);
        Assert.Equal(0x80, Harness.DataIn(h.Run(Cdb.ModeSense6(0x3F), dataIn: 255))[2] & 0x80);
        Assert.Equal(Asc.WriteProtected, Sense.Of(h.Run(Cdb.Block(0x2A, 0, 1), dataOut: new byte[512])).AscAscq);
    }
}
