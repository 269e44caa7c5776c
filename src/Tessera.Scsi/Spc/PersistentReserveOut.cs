using System.Buffers.Binary;
using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.17 PERSISTENT RESERVE OUT. The CDB and parameter list are validated first (ILLEGAL
/// REQUEST), then the service action runs as one pure context change
/// (<see cref="PersistentReservationChanges"/>) which decides RESERVATION CONFLICT against the
/// committed state. PREEMPT AND ABORT then aborts the preempted I_T nexuses' tasks and completes only
/// after they have ended. REPLACE LOST RESERVATION (08h) is not offered: Tessera never loses
/// persistent reservation information (RLR_C = 0).
/// </summary>
internal static class PersistentReserveOut
{
    private static readonly byte[] Usage = [0x5F, 0x1F, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];

    public static readonly CommandDescriptor[] Commands =
    [
        new(0x5F, ProutServiceAction.Register, "PERSISTENT RESERVE OUT / REGISTER", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.Reserve, "PERSISTENT RESERVE OUT / RESERVE", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.Release, "PERSISTENT RESERVE OUT / RELEASE", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.Clear, "PERSISTENT RESERVE OUT / CLEAR", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.Preempt, "PERSISTENT RESERVE OUT / PREEMPT", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.PreemptAndAbort, "PERSISTENT RESERVE OUT / PREEMPT AND ABORT", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.RegisterAndIgnoreExistingKey, "PERSISTENT RESERVE OUT / REGISTER AND IGNORE EXISTING KEY", Usage, ExecuteAsync),
        new(0x5F, ProutServiceAction.RegisterAndMove, "PERSISTENT RESERVE OUT / REGISTER AND MOVE", Usage, ExecuteAsync),
    ];

    /// <summary>SPC-5 4.4.9: INVALID RELEASE OF PERSISTENT RESERVATION.</summary>
    internal const ushort InvalidReleaseOfPersistentReservation = 0x2604;

    /// <summary>SPC-5 4.4.9: INSUFFICIENT REGISTRATION RESOURCES.</summary>
    internal const ushort InsufficientRegistrationResources = 0x5504;

    private static async ValueTask ExecuteAsync(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var request = Parse(task, state);
        if (request is null) return;
        var nexus = task.Nexus;
        ProutOutcome outcome;
        if (request.ServiceAction == ProutServiceAction.PreemptAndAbort && lu.Context is IDistributedTaskSet cluster)
        {
            // The preempted I_T nexuses may be on any node: their tasks there are aborted and have ended
            // before the change completes; this node's own tasks are aborted below.
            (outcome, _) = await cluster.ChangeAndAbortAsync(
                s => PersistentReservationChanges.Apply(s, nexus, request),
                o => o.Result == ProutResult.Good && !o.Preempted.IsDefaultOrEmpty
                    ? new TaskAbortOrder(TaskAbortScope.TasksOfRegistrations, nexus.Key) { Registrations = o.Preempted }
                    : null).ConfigureAwait(false);
        }
        else
        {
            outcome = await lu.Context.ChangeAsync(s => PersistentReservationChanges.Apply(s, nexus, request)).ConfigureAwait(false);
        }
        switch (outcome.Result)
        {
            case ProutResult.Good:
                break;
            case ProutResult.ReservationConflict:
                task.ReservationConflict();
                return;
            case ProutResult.InvalidFieldInCdb:
                task.InvalidFieldInCdb(state, outcome.Field, outcome.Bit);
                return;
            case ProutResult.InvalidFieldInParameterList:
                task.InvalidFieldInParameterList(state, outcome.Field, outcome.Bit);
                return;
            case ProutResult.InvalidReleaseOfPersistentReservation:
                task.CheckCondition(state, SenseKey.IllegalRequest, InvalidReleaseOfPersistentReservation);
                return;
            case ProutResult.InsufficientRegistrationResources:
                task.CheckCondition(state, SenseKey.IllegalRequest, InsufficientRegistrationResources);
                return;
        }
        if (request.ServiceAction == ProutServiceAction.PreemptAndAbort && !outcome.Preempted.IsDefaultOrEmpty)
            await AbortPreemptedAsync(lu, task, outcome.Preempted).ConfigureAwait(false);
    }

    /// <summary>
    /// SPC-5 5.14.12.2.5: tasks of the I_T nexuses whose registrations PREEMPT AND ABORT removed are
    /// aborted as by ABORT TASK SET (the requesting nexus' own tasks excepted); the command completes
    /// after every aborted running task has ended.
    /// </summary>
    private static async Task AbortPreemptedAsync(LogicalUnit lu, ScsiTask self, ImmutableArray<PersistentRegistration> preempted) =>
        await lu.AbortTasksAsync(new TaskAbortOrder(TaskAbortScope.TasksOfRegistrations, self.Nexus.Key) { Registrations = preempted }, except: self).ConfigureAwait(false);

    /// <summary>Validates the CDB and parameter list (SPC-5 6.17.1-6.17.4); null after failing the task.</summary>
    internal static ProutRequest? Parse(ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int sa = cdb[1] & 0x1F;
        int scope = cdb[2] >> 4, type = cdb[2] & 0x0F;
        // RESERVE needs a valid scope and type now; PREEMPT checks them when it replaces the reservation,
        // RELEASE reports a mismatch as INVALID RELEASE OF PERSISTENT RESERVATION.
        if (sa == ProutServiceAction.Reserve)
        {
            if (scope != 0) { task.InvalidFieldInCdb(state, 2, 7); return null; }
            if (!PersistentReservationType.IsValid(type)) { task.InvalidFieldInCdb(state, 2, 3); return null; }
        }
        uint listLength = BinaryPrimitives.ReadUInt32BigEndian(cdb[5..]);
        if (listLength < 24 || listLength > 64 * 1024)
        {
            // SPC-5 6.17.3: the basic list is exactly 24 bytes; only SPEC_I_PT or REGISTER AND MOVE add to it.
            task.CommandTransferLength = (int)Math.Min(listLength, int.MaxValue);
            ParameterListLengthError(task, state);
            return null;
        }
        int length = (int)listLength;
        if (!ReadWrite.HasDataOut(task, state, length)) return null;
        var d = task.DataOut.Span[..length];
        ulong key = BinaryPrimitives.ReadUInt64BigEndian(d);
        ulong sark = BinaryPrimitives.ReadUInt64BigEndian(d[8..]);

        if (sa == ProutServiceAction.RegisterAndMove) return ParseRegisterAndMove(task, state, d, scope, type, key, sark);

        byte flags = d[20];
        if ((flags & 0xF2) != 0) { task.InvalidFieldInParameterList(state, 20, TaskResults.HighestBit(flags & 0xF2)); return null; }
        bool specIPt = (flags & 0x08) != 0;
        bool register = sa is ProutServiceAction.Register or ProutServiceAction.RegisterAndIgnoreExistingKey;
        // SPC-5 6.17.3: SPEC_I_PT is only for REGISTER; ALL_TG_PT and APTPL are ignored outside the REGISTER family.
        if (specIPt && sa != ProutServiceAction.Register) { task.InvalidFieldInParameterList(state, 20, 3); return null; }
        var request = new ProutRequest(sa, scope, type, key, sark)
        {
            SpecifyInitiatorPorts = specIPt,
            AllTargetPorts = register && (flags & 0x04) != 0,
            Aptpl = register && (flags & 0x01) != 0,
        };
        if (!specIPt)
        {
            if (length != 24) { ParameterListLengthError(task, state); return null; }
            return request;
        }

        // SPEC_I_PT: TRANSPORTID PARAMETER DATA LENGTH at byte 24, TransportIDs from byte 28.
        if (length < 28) { ParameterListLengthError(task, state); return null; }
        uint tidLength = BinaryPrimitives.ReadUInt32BigEndian(d[24..]);
        if (tidLength > (uint)(length - 28)) { ParameterListLengthError(task, state); return null; }
        var ids = ImmutableArray.CreateBuilder<string>();
        int at = 28, end = 28 + (int)tidLength;
        while (at < end)
        {
            var status = TransportId.TryParse(d[at..end], out string initiator, out int used, out int bad);
            if (status == TransportId.ParseStatus.Truncated) { ParameterListLengthError(task, state); return null; }
            if (status == TransportId.ParseStatus.InvalidField) { task.InvalidFieldInParameterList(state, at + bad); return null; }
            if (!ids.Contains(initiator)) ids.Add(initiator);
            at += used;
        }
        return request with { TransportIds = ids.ToImmutable() };
    }

    /// <summary>SPC-5 6.17.4 REGISTER AND MOVE parameter list: keys, UNREG/APTPL, relative target port, one TransportID.</summary>
    private static ProutRequest? ParseRegisterAndMove(ScsiTask task, LuState state, ReadOnlySpan<byte> d, int scope, int type, ulong key, ulong sark)
    {
        if (d[16] != 0) { task.InvalidFieldInParameterList(state, 16, TaskResults.HighestBit(d[16])); return null; }
        if ((d[17] & 0xFC) != 0) { task.InvalidFieldInParameterList(state, 17, TaskResults.HighestBit(d[17] & 0xFC)); return null; }
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(d[18..]);
        uint tidLength = BinaryPrimitives.ReadUInt32BigEndian(d[20..]);
        if (tidLength > (uint)(d.Length - 24)) { ParameterListLengthError(task, state); return null; }
        if (tidLength == 0) { task.InvalidFieldInParameterList(state, 20); return null; }
        var status = TransportId.TryParse(d.Slice(24, (int)tidLength), out string initiator, out _, out int bad);
        if (status == TransportId.ParseStatus.Truncated) { ParameterListLengthError(task, state); return null; }
        if (status == TransportId.ParseStatus.InvalidField) { task.InvalidFieldInParameterList(state, 24 + bad); return null; }
        return new ProutRequest(ProutServiceAction.RegisterAndMove, scope, type, key, sark)
        {
            Unregister = (d[17] & 0x02) != 0,
            Aptpl = (d[17] & 0x01) != 0,
            RelativeTargetPort = port,
            TransportIds = [initiator],
        };
    }

    private static void ParameterListLengthError(ScsiTask task, LuState state) =>
        task.CheckCondition(state, SenseKey.IllegalRequest, Asc.ParameterListLengthError);
}
