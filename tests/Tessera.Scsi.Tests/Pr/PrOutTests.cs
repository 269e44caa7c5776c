namespace Tessera.Scsi.Tests;

/// <summary>PERSISTENT RESERVE OUT service actions: the SPC-5 5.14 state machine, PRgeneration and unit attentions.</summary>
public class PrOutTests
{
    private static readonly ItNexus A = Harness.NexusA, B = Harness.NexusB, C = Pr.NexusC;

    private static Harness New()
    {
        var h = new Harness();
        h.Attach(C);
        return h;
    }

    [Fact]
    public void RegisterChangeKeyAndUnregisterBumpPrGeneration()
    {
        var h = New();
        Pr.AssertKeys(h.ReadKeys(), 0u);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0, key: 0)); // unregistered, SARK 0: nothing happens
        Assert.Equal(0u, h.ReadKeys().Generation);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0x1111));
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(B, 0x2222));
        Pr.AssertKeys(h.ReadKeys(), 2u, 0x1111, 0x2222);
        // Registered: the RESERVATION KEY must match (libiscsi prout_reregister_key_fails).
        Assert.Equal(ScsiStatus.ReservationConflict, h.RegisterKey(A, 0x1112, key: 0));
        Assert.Equal(ScsiStatus.ReservationConflict, h.RegisterKey(A, 0x1112, key: 0x2222));
        Assert.Equal(2u, h.ReadKeys().Generation); // failed commands do not count
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0x1112, key: 0x1111));
        Pr.AssertKeys(h.ReadKeys(), 3u, 0x1112, 0x2222);
        // Unregistered with a non-zero RESERVATION KEY conflicts.
        Assert.Equal(ScsiStatus.ReservationConflict, h.RegisterKey(C, 0x3333, key: 0x1112));
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0, key: 0x1112));
        Pr.AssertKeys(h.ReadKeys(), 4u, 0x2222);
    }

    [Fact]
    public void RegisterAndIgnoreExistingKeyDoesNotCheckTheKey()
    {
        var h = New();
        Assert.Equal(ScsiStatus.Good, h.RegisterIgnore(A, 0x10));
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.RegisterAndIgnore, Pr.Basic(key: 0xDEAD, sark: 0x20)).Status);
        Assert.Equal(new ulong[] { 0x20 }, h.ReadKeys().Keys);
        Assert.Equal(ScsiStatus.Good, h.RegisterIgnore(A, 0)); // unregisters
        Assert.Empty(h.ReadKeys().Keys);
        Assert.Equal(3u, h.ReadKeys().Generation);
        Assert.True(h.Context.Current.IsQuiet); // nothing left: the I/O path is back to one check
    }

    [Fact]
    public void ReserveNeedsARegistrationWithTheRightKeyAndDoesNotBumpPrGeneration()
    {
        var h = New();
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReserveAs(A, 0, Pr.WE)); // not registered
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReserveAs(A, 0xB, Pr.WE)); // wrong key
        uint gen = h.ReadKeys().Generation;
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(A, 0xA, Pr.EA));
        Assert.Equal((0xAUL, 0, (int)Pr.EA), h.ReadReservation(B));
        Assert.Equal(gen, h.ReadKeys().Generation);
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(A, 0xA, Pr.EA)); // the holder repeating itself
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReserveAs(A, 0xA, Pr.WE)); // ... but not changing the type
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReserveAs(B, 0xB, Pr.EA)); // someone else
        Assert.Equal((0xAUL, 0, (int)Pr.EA), h.ReadReservation());
    }

    [Theory]
    [InlineData(Pr.WEAR)]
    [InlineData(Pr.EAAR)]
    public void AllRegistrantsReservationIsHeldByEveryRegistrant(byte type)
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(A, 0xA, type));
        Assert.Equal((0UL, 0, (int)type), h.ReadReservation()); // key 0 for all-registrants types
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(B, 0xB, type)); // B holds it too
        var full = h.ReadFullStatus().Descriptors;
        Assert.All(full, d => Assert.True(d.Holder && d.Type == type));
        // A leaving does not release it; B, the last registrant, leaving does.
        h.RegisterKey(A, 0, key: 0xA);
        Assert.Equal((0UL, 0, (int)type), h.ReadReservation());
        Assert.Equal(-1, h.PendingUnitAttention(B));
        h.RegisterKey(B, 0, key: 0xB);
        Assert.Null(h.ReadReservation());
    }

    [Theory]
    [InlineData(Pr.WE, false)]
    [InlineData(Pr.EA, false)]
    [InlineData(Pr.WERO, true)]
    [InlineData(Pr.EARO, true)]
    [InlineData(Pr.WEAR, true)]
    [InlineData(Pr.EAAR, true)]
    public void ReleaseTellsOtherRegistrantsOnlyForRegistrantTypes(byte type, bool unitAttention)
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(A, 0xA, type);
        uint gen = h.ReadKeys().Generation;
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReleaseAs(C, 0, type)); // unregistered
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReleaseAs(A, 0xB, type)); // wrong key
        if (type is not (Pr.WEAR or Pr.EAAR))
        {
            Assert.Equal(ScsiStatus.Good, h.ReleaseAs(B, 0xB, type)); // not the holder: nothing happens
            Assert.NotNull(h.ReadReservation());
        }
        var wrongType = h.Out(A, Pr.Release, Pr.Basic(0xA), type == Pr.WE ? Pr.EA : Pr.WE);
        Assert.Equal(0x2604, Sense.Of(wrongType).AscAscq); // INVALID RELEASE OF PERSISTENT RESERVATION
        Assert.Equal(0x2604, Sense.Of(h.Out(A, Pr.Release, Pr.Basic(0xA), type, scope: 1)).AscAscq);
        Assert.NotNull(h.ReadReservation());
        Assert.Equal(ScsiStatus.Good, h.ReleaseAs(A, 0xA, type));
        Assert.Null(h.ReadReservation());
        Assert.Equal(gen, h.ReadKeys().Generation);
        Assert.Equal(unitAttention ? 0x2A04 : -1, h.PendingUnitAttention(B)); // RESERVATIONS RELEASED
        Assert.Equal(-1, h.PendingUnitAttention(A));
        Assert.Equal(-1, h.PendingUnitAttention(C)); // not registered: not told
        Assert.Equal(ScsiStatus.Good, h.ReleaseAs(A, 0xA, type)); // nothing to release
    }

    [Theory]
    [InlineData(Pr.WE, -1)]
    [InlineData(Pr.EA, -1)]
    [InlineData(Pr.WERO, 0x2A04)]
    [InlineData(Pr.EARO, 0x2A04)]
    public void HolderUnregisteringReleasesTheReservation(byte type, int uaForOthers)
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(A, 0xA, type);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0, key: 0xA));
        Assert.Null(h.ReadReservation());
        Assert.Equal(uaForOthers, h.PendingUnitAttention(B));
        Assert.Equal(ScsiStatus.Good, h.Run(C, Cdb.Block(0x2A, 1, 1), dataOut: new byte[512]).Status);
    }

    [Fact]
    public void ClearRemovesEverythingAndPreemptsTheOthers()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(B, 0xB, Pr.EA);
        uint gen = h.ReadKeys().Generation;
        Assert.Equal(ScsiStatus.ReservationConflict, h.Out(C, Pr.Clear, Pr.Basic(0)).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Out(A, Pr.Clear, Pr.Basic(0xB)).Status);
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.Clear, Pr.Basic(0xA)).Status);
        Pr.AssertKeys(h.ReadKeys(), gen + 1);
        Assert.Null(h.ReadReservation());
        Assert.Equal(0x2A03, h.PendingUnitAttention(B)); // RESERVATIONS PREEMPTED
        Assert.Equal(-1, h.PendingUnitAttention(A));
        Assert.Equal(-1, h.PendingUnitAttention(C));
        Assert.True(h.Context.Current.IsQuiet);
    }

    [Fact]
    public void PreemptWithoutReservationRemovesRegistrations()
    {
        // libiscsi ProutPreempt.RemoveRegistration
        var h = New();
        h.RegisterIgnore(A, 0xA);
        h.RegisterIgnore(B, 0xB);
        h.RegisterIgnore(C, 0xB); // two registrations share key 0xB
        uint gen = h.ReadKeys().Generation;
        Assert.Equal(ScsiStatus.ReservationConflict, h.Out(A, Pr.Preempt, Pr.Basic(0xA, 0x99), Pr.EA).Status); // no such key
        var zero = Sense.Of(h.Out(A, Pr.Preempt, Pr.Basic(0xA, 0), Pr.EA));
        Assert.Equal((0x2600, false, 8), (zero.AscAscq, zero.CommandData, zero.FieldPointer)); // SARK 0 without all-registrants
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.Preempt, Pr.Basic(0xA, 0xB), Pr.EA).Status);
        Pr.AssertKeys(h.ReadKeys(), gen + 1, 0xA);
        Assert.Null(h.ReadReservation()); // no reservation was created
        Assert.Equal(0x2A05, h.PendingUnitAttention(B)); // REGISTRATIONS PREEMPTED
        Assert.Equal(0x2A05, h.PendingUnitAttention(C));
        Assert.Equal(-1, h.PendingUnitAttention(A));
    }

    [Fact]
    public void PreemptingTheHolderTakesTheReservationOver()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.RegisterKey(C, 0xC);
        h.ReserveAs(A, 0xA, Pr.EA);
        Assert.Equal(ScsiStatus.Good, h.Out(B, Pr.Preempt, Pr.Basic(0xB, 0xA), Pr.WERO).Status);
        Assert.Equal((0xBUL, 0, (int)Pr.WERO), h.ReadReservation(B));
        Assert.Equal(new ulong[] { 0xB, 0xC }, h.ReadKeys(B).Keys);
        Assert.Equal(0x2A05, h.PendingUnitAttention(A)); // its registration went
        Assert.Equal(0x2A04, h.PendingUnitAttention(C)); // the type changed: RESERVATIONS RELEASED
        // A is now an unregistered nexus under WE-RO: it may read, not write.
        Assert.Equal(ScsiStatus.Good, h.Run(A, Cdb.Block(0x28, 0, 1), dataIn: 512).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(A, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512]).Status);
        // Preempting the reservation validates the type it installs.
        var bad = Sense.Of(h.Out(C, Pr.Preempt, Pr.Basic(0xC, 0xB), 2));
        Assert.Equal((0x2400, true, 2), (bad.AscAscq, bad.CommandData, bad.FieldPointer));
        // The holder may preempt itself to change the type; same type, nobody is told.
        Assert.Equal(ScsiStatus.Good, h.Out(B, Pr.Preempt, Pr.Basic(0xB, 0xB), Pr.WERO).Status);
        Assert.Equal(new ulong[] { 0xB, 0xC }, h.ReadKeys(B).Keys);
        Assert.Equal(-1, h.PendingUnitAttention(C));
    }

    [Fact]
    public void PreemptingANonHolderKeyLeavesTheReservation()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.RegisterKey(C, 0xC);
        h.ReserveAs(A, 0xA, Pr.WERO);
        Assert.Equal(ScsiStatus.Good, h.Out(B, Pr.Preempt, Pr.Basic(0xB, 0xC), Pr.EA).Status);
        Assert.Equal((0xAUL, 0, (int)Pr.WERO), h.ReadReservation());
        Assert.Equal(0x2A05, h.PendingUnitAttention(C));
        Assert.Equal(-1, h.PendingUnitAttention(A));
    }

    [Fact]
    public void PreemptAllRegistrantsWithZeroKeyLeavesOnlyTheSender()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.RegisterKey(C, 0xC);
        h.ReserveAs(A, 0xA, Pr.EAAR);
        Assert.Equal(ScsiStatus.Good, h.Out(B, Pr.Preempt, Pr.Basic(0xB, 0), Pr.EA).Status);
        Assert.Equal(new ulong[] { 0xB }, h.ReadKeys(B).Keys);
        Assert.Equal((0xBUL, 0, (int)Pr.EA), h.ReadReservation(B));
        Assert.Equal(0x2A05, h.PendingUnitAttention(A));
        Assert.Equal(0x2A05, h.PendingUnitAttention(C));
    }

    [Fact]
    public async Task PreemptAndAbortAbortsThePreemptedNexusTasks()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(A, 0xA, Pr.WE);
        h.Store.ReadGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blockedA = Harness.NewTask(A, Cdb.Block(0x28, 0, 1), dataIn: 512, tag: 7);
        var blockedC = Harness.NewTask(C, Cdb.Block(0x28, 0, 1), dataIn: 512, tag: 8);
        var runA = h.Target.ExecuteAsync(blockedA).AsTask();
        var runC = h.Target.ExecuteAsync(blockedC).AsTask();
        Assert.False(runA.IsCompleted);

        var prout = Harness.NewTask(B, Pr.OutCdb(Pr.PreemptAndAbort, Pr.EA), dataOut: Pr.Basic(0xB, 0xA), tag: 9);
        var preempt = h.Target.ExecuteAsync(prout).AsTask();
        await Task.Yield();
        Assert.True(blockedA.IsAborted);
        Assert.False(blockedC.IsAborted); // C was not preempted
        Assert.False(preempt.IsCompleted); // waits for the aborted read to end
        h.Store.ReadGate.SetResult();
        await preempt;
        await runA;
        await runC;
        Assert.Equal(ScsiStatus.Good, prout.Status);
        Assert.Equal(ScsiStatus.Good, blockedC.Status);
        Assert.Equal((0xBUL, 0, (int)Pr.EA), h.ReadReservation(B));
        Assert.Equal(0, h.Lu.Tasks.Count);
    }

    [Fact]
    public void RegisterAndMoveHandsTheReservationOver()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.ReserveAs(A, 0xA, Pr.EA);
        var toC = Pr.Tid(C.InitiatorPortName, port: true);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Out(B, Pr.RegisterAndMove, Pr.MoveList(0xB, 0xCC, 1, toC)).Status); // not the holder
        var self = Sense.Of(h.Out(A, Pr.RegisterAndMove, Pr.MoveList(0xA, 0xAA, 1, Pr.Tid(A.InitiatorPortName, true))));
        Assert.Equal((0x2600, 24), (self.AscAscq, self.FieldPointer));
        Assert.Equal(0x2600, Sense.Of(h.Out(A, Pr.RegisterAndMove, Pr.MoveList(0xA, 0, 1, toC))).AscAscq);
        uint gen = h.ReadKeys().Generation;
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.RegisterAndMove, Pr.MoveList(0xA, 0xCC, 1, toC, unreg: true)).Status);
        Pr.AssertKeys(h.ReadKeys(C), gen + 1, 0xB, 0xCC);
        Assert.Equal((0xCCUL, 0, (int)Pr.EA), h.ReadReservation(C));
        Assert.Equal(ScsiStatus.Good, h.Run(C, Cdb.Block(0x2A, 1, 1), dataOut: new byte[512]).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(A, Cdb.Block(0x28, 1, 1), dataIn: 512).Status);
    }

    [Fact]
    public void SpecIPtRegistersTheListedInitiatorPorts()
    {
        var h = New();
        var d = new ItNexus("iqn.2026-01.org.example:d", 0x4000000001, 1, 1);
        h.Attach(d);
        var list = Pr.Basic(0, 0x77, specIPt: true, transportIds: [Pr.Tid("iqn.1994-05.com.redhat:c,I,0X23D000000003", true), Pr.Tid(d.InitiatorName, false)]);
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.Register, list).Status);
        var full = h.ReadFullStatus().Descriptors;
        Assert.Equal([A.InitiatorPortName, C.InitiatorPortName, d.InitiatorName], full.Select(x => x.Initiator));
        Assert.Equal([0x45, 0x45, 0x05], full.Select(x => x.FormatAndProtocol)); // format 01h, 01h, 00h; protocol iSCSI
        Assert.All(full, x => Assert.Equal((0x77UL, (ushort)1), (x.Key, x.RelativePort)));
        Assert.Equal(1u, h.ReadKeys().Generation); // one command, one increment
        // C and D (any ISID) are registered: under EA-RO they may write.
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(A, 0x77, Pr.EARO));
        Assert.Equal(ScsiStatus.Good, h.Run(C, Cdb.Block(0x2A, 1, 1), dataOut: new byte[512]).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(d, Cdb.Block(0x2A, 1, 1), dataOut: new byte[512]).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(B, Cdb.Block(0x28, 1, 1), dataIn: 512).Status);
        // A registered nexus may not use SPEC_I_PT; listing an already registered port conflicts and registers nothing.
        Assert.Equal((0x2600, 20, 3), Pointer(Sense.Of(h.Out(A, Pr.Register, Pr.Basic(0x77, 0x78, specIPt: true, transportIds: [Pr.Tid(B.InitiatorPortName, true)])))));
        Assert.Equal(ScsiStatus.ReservationConflict, h.Out(B, Pr.Register, Pr.Basic(0, 0x88, specIPt: true, transportIds: [Pr.Tid(C.InitiatorPortName, true)])).Status);
        Assert.Equal(3, h.ReadKeys().Keys.Length);
    }

    [Fact]
    public void AllTgPtRegistersEveryTargetPort()
    {
        var h = New();
        h.Attach(Pr.NexusAPort2);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(A, 0xA, allTgPt: true));
        h.RegisterKey(B, 0xB);
        h.ReserveAs(B, 0xB, Pr.EARO);
        // The same initiator port through target port 2 is registered too.
        Assert.Equal(ScsiStatus.Good, h.Run(Pr.NexusAPort2, Cdb.Block(0x2A, 1, 1), dataOut: new byte[512]).Status);
        var a = h.ReadFullStatus().Descriptors[0];
        Assert.True(a.AllTgPt);
        Assert.Equal(A.InitiatorPortName, a.Initiator);
        // Without ALL_TG_PT only the receiving port is.
        var h2 = New();
        h2.Attach(Pr.NexusAPort2);
        h2.RegisterKey(A, 0xA);
        h2.RegisterKey(B, 0xB);
        h2.ReserveAs(B, 0xB, Pr.EARO);
        Assert.Equal(ScsiStatus.ReservationConflict, h2.Run(Pr.NexusAPort2, Cdb.Block(0x28, 1, 1), dataIn: 512).Status);
        Assert.False(h2.ReadFullStatus().Descriptors[0].AllTgPt);
        Assert.Equal((ushort)1, h2.ReadFullStatus().Descriptors[0].RelativePort);
    }

    [Fact]
    public void ParameterListIsValidatedBeforeAnythingChanges()
    {
        var h = New();
        // SPC-5 6.17.3: the basic list is 24 bytes.
        Assert.Equal(0x1A00, Sense.Of(h.Run(A, Pr.OutCdb(Pr.Register, length: 23), dataOut: new byte[23])).AscAscq);
        Assert.Equal(0x1A00, Sense.Of(h.Run(A, Pr.OutCdb(Pr.Register, length: 28), dataOut: new byte[28])).AscAscq);
        Assert.Equal(0x1A00, Sense.Of(h.Run(A, Pr.OutCdb(Pr.Register, length: 0))).AscAscq);
        // SPEC_I_PT is for REGISTER only.
        Assert.Equal((0x2600, 20, 3), Pointer(Sense.Of(h.Out(A, Pr.RegisterAndIgnore, Pr.Basic(0, 1, specIPt: true, transportIds: [Pr.Tid(C.InitiatorPortName, true)])))));
        // TRANSPORTID PARAMETER DATA LENGTH beyond the list.
        var shortList = Pr.Basic(0, 1, specIPt: true, transportIds: [Pr.Tid(C.InitiatorPortName, true)]);
        shortList[27] += 4;
        Assert.Equal(0x1A00, Sense.Of(h.Out(A, Pr.Register, shortList)).AscAscq);
        // A TransportID of another protocol (FC, 0h).
        var fc = Pr.Tid(C.InitiatorPortName, true);
        fc[0] = 0x40;
        Assert.Equal((0x2600, 28, -1), Pointer(Sense.Of(h.Out(A, Pr.Register, Pr.Basic(0, 1, specIPt: true, transportIds: [fc])))));
        // Reserved bits of byte 20.
        var reserved = Pr.Basic(0, 1);
        reserved[20] = 0x02;
        Assert.Equal((0x2600, 20, 1), Pointer(Sense.Of(h.Out(A, Pr.Register, reserved))));
        // RESERVE: scope and type in the CDB.
        h.RegisterKey(A, 0xA);
        Assert.Equal((0x2400, 2, 3), Pointer(Sense.Of(h.Out(A, Pr.Reserve, Pr.Basic(0xA), type: 2))));
        Assert.Equal((0x2400, 2, 7), Pointer(Sense.Of(h.Out(A, Pr.Reserve, Pr.Basic(0xA), type: Pr.WE, scope: 1))));
        // REPLACE LOST RESERVATION and beyond are not supported service actions.
        Assert.Equal((0x2400, 1, 4), Pointer(Sense.Of(h.Run(A, Pr.OutCdb(8), dataOut: Pr.Basic(0xA)))));
        Pr.AssertKeys(h.ReadKeys(), 1u, 0xA);
        Assert.Null(h.ReadReservation());
    }

    [Fact]
    public void ParameterErrorsComeBeforeReservationConflicts()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        // C is not registered: a good list would conflict, a short one is an ILLEGAL REQUEST first.
        Assert.Equal(0x1A00, Sense.Of(h.Run(C, Pr.OutCdb(Pr.Reserve, Pr.WE, length: 20), dataOut: new byte[20])).AscAscq);
        Assert.Equal(ScsiStatus.ReservationConflict, h.ReserveAs(C, 0, Pr.WE));
    }

    [Fact]
    public async Task PersistentReservationsSurviveNexusLossAndLogicalUnitReset()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.ReserveAs(A, 0xA, Pr.EA);
        h.Target.NexusLost(A);
        h.Target.NexusAttached(A);
        Assert.Equal((0xAUL, 0, (int)Pr.EA), h.ReadReservation(B));
        var reset = await h.Target.ManageAsync(B, TaskManagementFunction.LogicalUnitReset, 0, 0);
        Assert.Equal(TaskManagementResponse.FunctionComplete, reset);
        h.ClearUnitAttentions(B);
        Assert.Equal((0xAUL, 0, (int)Pr.EA), h.ReadReservation(B));
        Assert.Equal(ScsiStatus.ReservationConflict, h.Run(B, Cdb.Block(0x28, 1, 1), dataIn: 512).Status);
    }

    [Fact]
    public void UnitAttentionsWaitForANexusThatLeft()
    {
        var h = New();
        h.RegisterKey(A, 0xA);
        h.RegisterKey(B, 0xB);
        h.Target.NexusLost(B);
        Assert.Equal(ScsiStatus.Good, h.Out(A, Pr.Preempt, Pr.Basic(0xA, 0xB), Pr.EA).Status);
        h.Target.NexusAttached(B);
        Assert.Equal(0x2907, h.PendingUnitAttention(B)); // I_T NEXUS LOSS OCCURRED first
        Assert.Equal(0x2A05, h.PendingUnitAttention(B)); // then REGISTRATIONS PREEMPTED
    }

    private static (int, int, int) Pointer(Sense s) => (s.AscAscq, s.FieldPointer, s.BitPointerValid ? s.BitPointer : -1);
}
