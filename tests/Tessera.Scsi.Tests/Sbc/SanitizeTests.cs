namespace Tessera.Scsi.Tests.Sbc;

[Collection(nameof(SanitizeTests))] // they change the global sanitize rate
public class SanitizeTests
{
    public SanitizeTests() => Sanitize.BytesPerSecond = 1L << 40;

    private static byte[] Filled(int bytes, byte value)
    {
        var b = new byte[bytes];
        b.AsSpan().Fill(value);
        return b;
    }

    private static async Task WaitUntilDone(SbcHarness h)
    {
        for (int i = 0; i < 500 && h.Context.Current.Sanitize is { InProgress: true }; i++) await Task.Delay(10);
        Assert.False(h.Context.Current.Sanitize is { InProgress: true });
    }

    [Fact]
    public void OverwriteRepeatsThePatternOverEveryBlockAndReadsBackAsIt()
    {
        var h = SbcHarness.Thin(blocks: 512);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 4), dataOut: Filled(2048, 0x11)).Status);
        var list = SbcCdb.OverwriteList([0xDE, 0xAD, 0xBE], count: 3, invert: true);
        var t = h.Run(SbcCdb.Sanitize(1, list.Length), dataOut: list);
        Assert.Equal(ScsiStatus.Good, t.Status);
        Assert.Null(h.Context.Current.Sanitize);
        var expected = new byte[512];
        for (int i = 0; i < 512; i++) expected[i] = (byte)(i % 3 == 0 ? 0xDE : i % 3 == 1 ? 0xAD : 0xBE);
        for (int b = 0; b < 512; b++) Assert.True(h.Thin0.Data.AsSpan(b * 512, 512).SequenceEqual(expected), $"block {b}");
        // An all-zero pattern is overwritten and then deallocated (a thin volume does not fill up).
        list = SbcCdb.OverwriteList([0, 0, 0, 0]);
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Sanitize(1, list.Length), dataOut: list).Status);
        Assert.All(h.Thin0.Mapped, m => Assert.False(m));
        Assert.True(h.Thin0.Data.AsSpan().IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void BlockAndCryptoEraseOverwriteMappedDataAndDeallocateEverything(int action)
    {
        var h = SbcHarness.Thin(blocks: 1024);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 100, 8), dataOut: Filled(4096, 0x77)).Status);
        int writes = h.Thin0.Writes;
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Sanitize(action)).Status);
        Assert.True(h.Thin0.Writes > writes); // the mapped run was overwritten before it was given back
        Assert.All(h.Thin0.Mapped, m => Assert.False(m));
        var d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(0, 256), dataIn: 256)));
        Assert.Equal([(0ul, 1024u, 1)], d);
        // Block erase / crypto erase take no parameter list.
        Assert.Equal((0x2400, 7), (Sense.Of(h.Run(SbcCdb.Sanitize(action, 8), dataOut: new byte[8])).AscAscq,
                                   Sense.Of(h.Run(SbcCdb.Sanitize(action, 8), dataOut: new byte[8])).FieldPointer));
        // WABEREQ / WACEREQ = 01b in the Block Device Characteristics page.
        Assert.Equal(0x50, h.Vpd(0xB1)[7] & 0xF0);
    }

    [Fact]
    public void OverwriteParameterListValidation()
    {
        var h = SbcHarness.Thin(blocks: 64);
        for (int length = 0; length < 5; length++)
            Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(1, length), dataOut: new byte[8])).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(1, 517), dataOut: new byte[520])).AscAscq); // > block size + 4
        var zeroCount = SbcCdb.OverwriteList(Filled(512, 1));
        zeroCount[0] = 0;
        Assert.Equal(0x2600, Sense.Of(h.Run(SbcCdb.Sanitize(1, zeroCount.Length), dataOut: zeroCount)).AscAscq);
        var noPattern = SbcCdb.OverwriteList(Filled(512, 1));
        noPattern[2] = noPattern[3] = 0;
        Assert.Equal(0x2600, Sense.Of(h.Run(SbcCdb.Sanitize(1, noPattern.Length), dataOut: noPattern)).AscAscq);
        var test = SbcCdb.OverwriteList(Filled(4, 1));
        test[0] |= 0x20;
        Assert.Equal(0x2600, Sense.Of(h.Run(SbcCdb.Sanitize(1, test.Length), dataOut: test)).AscAscq);
        // Reserved CDB bits and bytes, ZNR on a non-zoned device, unknown service actions.
        var cdb = SbcCdb.Sanitize(2);
        cdb[1] |= 0x40;
        Assert.Equal(0x2400, Sense.Of(h.Run(cdb)).AscAscq);
        for (int i = 2; i < 7; i++)
        {
            cdb = SbcCdb.Sanitize(2);
            cdb[i] = 1;
            Assert.Equal((0x2400, i), (Sense.Of(h.Run(cdb)).AscAscq, Sense.Of(h.Run(cdb)).FieldPointer));
        }
        foreach (int action in new[] { 0, 4, 5, 0x10, 0x1E })
            Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(action))).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(0x1F, 8), dataOut: new byte[8])).AscAscq);
        Assert.Equal(0, h.Thin0.Writes);
    }

    [Fact]
    public void SanitizeOnAWriteProtectedLuIsDataProtect()
    {
        var h = new SbcHarness(new ThinMemoryStore(64) { IsReadOnly = true });
        var list = SbcCdb.OverwriteList(Filled(512, 0xAA));
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.Sanitize(1, list.Length), dataOut: list)).AscAscq);
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.Sanitize(2))).AscAscq);
        Assert.Equal(0x2700, Sense.Of(h.Run(SbcCdb.Sanitize(3))).AscAscq);
        Assert.Null(h.Context.Current.Sanitize);
    }

    [Fact]
    public async Task WhileInProgressOnlyInquiryReportLunsAndRequestSenseRunAndAbortDoesNotStopIt()
    {
        var h = SbcHarness.Thin(blocks: 64);
        h.Thin0.WriteGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = SbcCdb.OverwriteList(Filled(512, 0xAA));
        var sanitize = Harness.NewTask(Harness.NexusA, SbcCdb.Sanitize(1, list.Length), dataOut: list, tag: 77);
        var running = h.Target.ExecuteAsync(sanitize).AsTask();
        await Task.Delay(50);
        Assert.False(running.IsCompleted); // IMMED = 0 waits for the operation
        Assert.True(h.Context.Current.Sanitize is { InProgress: true });

        foreach (var nexus in new[] { Harness.NexusA, Harness.NexusB })
        {
            var s = Sense.Of(h.Run(nexus, Cdb.TestUnitReady()));
            Assert.Equal((2, 0x041B, true), (s.Key, s.AscAscq, s.HasSks));
            Assert.Equal(0x041B, Sense.Of(h.Run(nexus, Cdb.Block(0x28, 0, 1), dataIn: 512)).AscAscq);
            Assert.Equal(0x041B, Sense.Of(h.Run(nexus, [0x1B, 1, 0, 0, 0x03, 0])).AscAscq);
            Assert.Equal(ScsiStatus.Good, h.Run(nexus, Cdb.Inquiry(), dataIn: 255).Status);
            Assert.Equal(ScsiStatus.Good, h.Run(nexus, Cdb.ReportLuns(), dataIn: 4096).Status);
        }
        // A second SANITIZE is refused too.
        Assert.Equal(0x041B, Sense.Of(h.Run(Harness.NexusB, SbcCdb.Sanitize(2))).AscAscq);

        // LOGICAL UNIT RESET aborts the command, not the operation.
        var tmf = await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.LogicalUnitReset, LunAddressing.Encode(0), 0);
        Assert.Equal(TaskManagementResponse.FunctionComplete, tmf);
        Assert.True(sanitize.IsAborted);
        Assert.True(h.Context.Current.Sanitize is { InProgress: true });
        Assert.Equal(0x041B, Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady())).AscAscq); // before the reset's unit attention

        h.Thin0.WriteGate.SetResult();
        await WaitUntilDone(h);
        Assert.Null(h.Context.Current.Sanitize);
        Assert.Equal(0xAA, h.Thin0.Data[63 * 512]);
        Assert.Equal(6, Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady())).Key); // now the LU reset unit attention
    }

    [Fact]
    public async Task ImmediateReturnsAtOnceAndAFailureKeepsTheLuInFailureModeUntilExit()
    {
        var h = SbcHarness.Thin(blocks: 64);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 1), dataOut: Filled(512, 9)).Status);
        h.Thin0.FailNext = new IOException("disk gone");
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Sanitize(2, immediate: true, ause: false)).Status);
        await WaitUntilDone(h);
        Assert.Equal(new SanitizeState(false, true, false), h.Context.Current.Sanitize);
        var s = Sense.Of(h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512));
        Assert.Equal((3, 0x3103), (s.Key, s.AscAscq));
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Inquiry(), dataIn: 96).Status);
        // Restricted mode (AUSE = 0): EXIT FAILURE MODE and a new sanitize with AUSE = 1 are refused.
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(0x1F))).AscAscq);
        Assert.Equal(0x2400, Sense.Of(h.Run(SbcCdb.Sanitize(2, ause: true))).AscAscq);
        // A sanitize that succeeds (AUSE = 0 is allowed) leaves failure mode.
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Sanitize(2)).Status);
        Assert.Null(h.Context.Current.Sanitize);
        // A failure in unrestricted mode (AUSE = 1) can be left with EXIT FAILURE MODE.
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, 0, 1), dataOut: Filled(512, 9)).Status);
        h.Thin0.FailNext = new IOException("again");
        var t = h.Run(SbcCdb.Sanitize(2, ause: true));
        Assert.Equal((3, 0x3103), (Sense.Of(t).Key, Sense.Of(t).AscAscq)); // IMMED = 0 reports the failure
        Assert.Equal(new SanitizeState(false, true, true), h.Context.Current.Sanitize);
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Sanitize(0x1F)).Status);
        Assert.Null(h.Context.Current.Sanitize);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
    }

    [Fact]
    public void SanitizeConflictsWithAnotherNexusReservation()
    {
        var h = SbcHarness.Thin(blocks: 64);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.Reserve6()).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(SbcCdb.Sanitize(2)).Status);
        Assert.Null(h.Context.Current.Sanitize);
    }
}

[CollectionDefinition(nameof(SanitizeTests), DisableParallelization = true)]
public class SanitizeTestsCollection;
