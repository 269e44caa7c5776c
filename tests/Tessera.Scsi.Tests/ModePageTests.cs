using System.Buffers.Binary;

namespace Tessera.Scsi.Tests;

public class ModePageTests
{
    private static byte[] ControlPage(Harness h, int pc = 0)
    {
        var d = Harness.DataIn(h.Run(Cdb.ModeSense6(0x0A, pc, dbd: true), dataIn: 255));
        return d.AsSpan(4, 12).ToArray();
    }

    private static byte[] Select6(params byte[][] pages)
    {
        var list = new List<byte> { 0, 0, 0, 0 };
        foreach (var p in pages) list.AddRange(p);
        return list.ToArray();
    }

    [Fact]
    public void ModeSense6ReturnsHeaderBlockDescriptorAndAllPages()
    {
        var h = new Harness(blocks: 4096);
        var d = Harness.DataIn(h.Run(Cdb.ModeSense6(0x3F), dataIn: 255));
        Assert.Equal(d.Length - 1, d[0]);
        Assert.Equal(0x10, d[2]);   // DPOFUA, not write-protected
        Assert.Equal(8, d[3]);
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
        Assert.Equal(512, d[9] << 16 | d[10] << 8 | d[11]);
        var codes = new List<int>();
        for (int at = 12; at < d.Length; at += 2 + d[at + 1]) codes.Add(d[at] & 0x3F);
        Assert.Equal(new[] { 0x08, 0x0A, 0x1C }, codes);
        Assert.Equal(0x04, d[12 + 2] & 0x04);       // WCE
        Assert.Equal(0x80, d[12] & 0x80);           // PS
    }

    [Fact]
    public void ModeSense10WithLongLbaDescriptor()
    {
        var h = new Harness(blocks: 4096);
        var d = Harness.DataIn(h.Run(Cdb.ModeSense10(0x08, llbaa: true), dataIn: 1024));
        Assert.Equal(d.Length - 2, BinaryPrimitives.ReadUInt16BigEndian(d));
        Assert.Equal(1, d[4] & 1);                                   // LONGLBA
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)));
        Assert.Equal(4096UL, BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(20)));
        Assert.Equal(0x08, d[24] & 0x3F);
        Assert.Equal(8 + 16 + 20, d.Length);
    }

    [Fact]
    public void PageControlSelectsChangeableDefaultAndSaved()
    {
        var h = new Harness();
        var changeable = ControlPage(h, pc: 1);
        Assert.Equal(0x04, changeable[2]); // D_SENSE
        Assert.Equal(0x08, changeable[4]); // SWP
        Assert.Equal(0x00, changeable[5]); // TAS fixed at 0
        Assert.Equal(0x0A, changeable[1]);
        var defaults = ControlPage(h, pc: 2);
        Assert.Equal(0x10, defaults[3]);   // QUEUE ALGORITHM MODIFIER 1
        Assert.Equal(ControlPage(h, 0), ControlPage(h, 3));
    }

    [Fact]
    public void UnknownPageOrSubpageIsInvalidFieldInCdb()
    {
        var h = new Harness();
        var s = Sense.Of(h.Run(Cdb.ModeSense6(0x19), dataIn: 255));
        Assert.Equal((0x2400, 2, 5), (s.AscAscq, s.FieldPointer, s.BitPointer));
        s = Sense.Of(h.Run(Cdb.ModeSense6(0x0A, subpage: 1), dataIn: 255));
        Assert.Equal((0x2400, 3), (s.AscAscq, s.FieldPointer));
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSense6(0x3F, subpage: 0xFF), dataIn: 255).Status);
    }

    [Fact]
    public void DSenseSwitchesTheSenseFormat()
    {
        var h = new Harness();
        Assert.Equal(0x70, Sense.Of(h.Run(Cdb.Block(0x88, ulong.MaxValue, 1), dataIn: 512)).ResponseCode);
        var page = ControlPage(h);
        page[0] &= 0x7F;       // PS is reserved in MODE SELECT (but tolerated)
        page[2] |= 0x04;       // D_SENSE
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(16), dataOut: Select6(page)).Status);
        var s = Sense.Of(h.Run(Cdb.Block(0x88, ulong.MaxValue, 1), dataIn: 512));
        Assert.Equal((0x72, 0x5, 0x2100), (s.ResponseCode, s.Key, s.AscAscq));
        // Field pointers survive in the descriptor format.
        s = Sense.Of(h.Run(Cdb.Inquiry(true, 0x42), dataIn: 255));
        Assert.Equal((0x72, true, 2), (s.ResponseCode, s.HasSks, s.FieldPointer));
        Assert.Equal(0x04, ControlPage(h)[2] & 0x04);
    }

    [Fact]
    public void NonChangeableBitsPointAtTheOffendingByteAndBit()
    {
        var h = new Harness();
        var page = ControlPage(h);
        page[2] |= 0x20; // TST = 001b: not changeable
        var s = Sense.Of(h.Run(Cdb.ModeSelect6(16), dataOut: Select6(page)));
        Assert.Equal((0x5, 0x2600, true, false, 4 + 2, 5), (s.Key, s.AscAscq, s.HasSks, s.CommandData, s.FieldPointer, s.BitPointer));
        Assert.Equal(0, ControlPage(h)[2] & 0x20);
    }

    [Fact]
    public void ParameterListErrors()
    {
        var h = new Harness();
        var control = ControlPage(h);
        control[0] &= 0x7F;

        var badLength = (byte[])control.Clone();
        badLength[1] = 0x0B;
        Assert.Equal((0x2600, 5), Pointer(h.Run(Cdb.ModeSelect6(16), dataOut: Select6(badLength))));

        var unknown = new byte[] { 0x19, 0x06, 0, 0, 0, 0, 0, 0 };
        Assert.Equal((0x2600, 4), Pointer(h.Run(Cdb.ModeSelect6(12), dataOut: Select6(unknown))));

        var header = Select6(control);
        header[1] = 0x05; // medium type
        Assert.Equal((0x2600, 1), Pointer(h.Run(Cdb.ModeSelect6(16), dataOut: header)));

        // A page cut short by the parameter list length.
        Assert.Equal(0x1A00, Sense.Of(h.Run(Cdb.ModeSelect6(10), dataOut: Select6(control)[..10])).AscAscq);

        // Block descriptor with another block length.
        var withBd = new byte[4 + 8];
        withBd[3] = 8; withBd[4 + 6] = 0x10; // block length 4096
        Assert.Equal((0x2600, 4 + 5), Pointer(h.Run(Cdb.ModeSelect6(12), dataOut: withBd)));
        withBd[4 + 6] = 0x02; // 512: fine
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(12), dataOut: withBd).Status);

        // Informational exceptions: reserved MRIE value.
        var ie = new byte[] { 0x1C, 0x0A, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0 };
        Assert.Equal((0x2600, 4 + 3), Pointer(h.Run(Cdb.ModeSelect6(16), dataOut: Select6(ie))));

        // PF = 0.
        Assert.Equal((0x2400, 1), Pointer(h.Run(Cdb.ModeSelect6(16, pf: false), dataOut: Select6(control))));
        Assert.Equal(ControlPage(h, 2), ControlPage(h));
    }

    private static (ushort, int) Pointer(ScsiTask t)
    {
        var s = Sense.Of(t);
        Assert.True(s.HasSks);
        return (s.AscAscq, s.FieldPointer);
    }

    [Fact]
    public void ModeSelect10RoundTrip()
    {
        var h = new Harness();
        var list = new byte[8 + 12];
        list[8] = 0x0A; list[9] = 0x0A; list[10] = 0x04; list[11] = 0x10;
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect10(list.Length), dataOut: list).Status);
        Assert.True(h.Context.Current.CurrentMode.DescriptorSense);
        Assert.False(h.Context.Current.SavedMode.DescriptorSense);
    }

    [Fact]
    public void ChangesRaiseModeParametersChangedForOtherNexusesOnly()
    {
        var h = new Harness();
        var page = ControlPage(h);
        page[2] |= 0x04;
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.ModeSelect6(16), dataOut: Select6(page)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.TestUnitReady()).Status);
        var s = Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady()));
        Assert.Equal((0x6, 0x2A01), (s.Key, s.AscAscq));
        // Selecting the same values again changes nothing and raises nothing.
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.ModeSelect6(16), dataOut: Select6(page)).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.TestUnitReady()).Status);
    }

    [Fact]
    public void SoftwareWriteProtectMakesTheLuReadOnly()
    {
        var h = new Harness();
        var page = ControlPage(h);
        page[4] |= 0x08;
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(16), dataOut: Select6(page)).Status);
        Assert.Equal(0x80, Harness.DataIn(h.Run(Cdb.ModeSense6(0x3F), dataIn: 255))[2] & 0x80); // WP
        Assert.Equal(0x2700, Sense.Of(h.Run(Cdb.Block(0x2A, 0, 1), dataOut: new byte[512])).AscAscq);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
    }

    [Fact]
    public void ReadOnlyStoreSetsWp()
    {
        var h = new Harness(readOnly: true);
        Assert.Equal(0x80, Harness.DataIn(h.Run(Cdb.ModeSense10(0x3F), dataIn: 1024))[3] & 0x80);
    }

    [Fact]
    public async Task SavedPagesSurviveARestartAndResetsRestoreThem()
    {
        var dir = Directory.CreateTempSubdirectory("tessera-scsi-");
        try
        {
            string path = Path.Combine(dir.FullName, "lu0.json");
            var h = new Harness(contextPath: path);
            var page = ControlPage(h);
            page[2] |= 0x04; // D_SENSE, saved
            Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(16, sp: true), dataOut: Select6(page)).Status);
            Assert.True(File.Exists(path));
            Assert.False(File.Exists(path + ".tmp"));
            page[4] |= 0x08; // SWP, current only
            Assert.Equal(ScsiStatus.Good, h.Run(Cdb.ModeSelect6(16), dataOut: Select6(page)).Status);
            Assert.True(h.Context.Current.CurrentMode.SoftwareWriteProtect);

            // LU reset: current = saved.
            Assert.Equal(TaskManagementResponse.FunctionComplete,
                await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.LogicalUnitReset, 0, 0));
            Assert.False(h.Context.Current.CurrentMode.SoftwareWriteProtect);
            Assert.True(h.Context.Current.CurrentMode.DescriptorSense);

            // Restart: a new context on the same file starts from the saved pages.
            var again = new LocalLuContext(path);
            Assert.True(again.Current.CurrentMode.DescriptorSense);
            Assert.True(again.Current.SavedMode.DescriptorSense);
            Assert.False(again.Current.CurrentMode.SoftwareWriteProtect);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
