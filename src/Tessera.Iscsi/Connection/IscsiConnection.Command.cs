using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Tessera.Iscsi.Protocol;
using Tessera.Scsi;

namespace Tessera.Iscsi.Connection;

/// <summary>SCSI Command, Data-Out, R2T, Data-In and SCSI Response (RFC 7143 3.2.4, 11.3-11.8).</summary>
internal sealed partial class IscsiConnection
{
    private readonly object _commandsLock = new();
    private readonly Dictionary<uint, CommandState> _commands = new();
    private readonly Stack<CommandState> _statePool = new();
    private readonly SortedDictionary<uint, byte[]> _heldCommands = new(SerialComparer.Instance);
    private Action<ScsiTask>? _onAbort;
    private uint _nextTargetTransferTag = 1;

    private static bool SerialLess(uint a, uint b) => (int)(a - b) < 0;

    /// <summary>
    /// CmdSN ordering (RFC 7143 4.2.2.1): immediate PDUs go now; the expected CmdSN goes now and
    /// releases any held successors; later CmdSNs inside the window wait; anything outside the
    /// window is silently ignored.
    /// </summary>
    private ValueTask SequenceCommand(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        if (bhs.Immediate) return ProcessCommand(data);
        uint cmdSN = bhs.CmdSN;
        if (cmdSN == _expCmdSN)
        {
            _expCmdSN++;
            ValueTask done = ProcessCommand(data);
            if (_heldCommands.Count == 0) return done;
            return ReleaseHeldAsync(done);
        }
        if (SerialLess(_expCmdSN, cmdSN) && !SerialLess(MaxCmdSN, cmdSN) && !_heldCommands.ContainsKey(cmdSN))
        {
            int headerLength = Bhs.Length + bhs.TotalAhsLength;
            byte[] copy = new byte[headerLength + data.Length];
            _header.AsSpan(0, headerLength).CopyTo(copy);
            data.CopyTo(copy.AsSpan(headerLength));
            _heldCommands[cmdSN] = copy;
        }
        return default;
    }

    private async ValueTask ReleaseHeldAsync(ValueTask first)
    {
        await first.ConfigureAwait(false);
        while (_heldCommands.Remove(_expCmdSN, out byte[]? pdu))
        {
            int headerLength = Bhs.Length + pdu[4] * 4;
            pdu.AsSpan(0, headerLength).CopyTo(_header);
            _expCmdSN++;
            await ProcessCommand(new ReadOnlySequence<byte>(pdu, headerLength, pdu.Length - headerLength)).ConfigureAwait(false);
        }
    }

    private ValueTask ProcessCommand(ReadOnlySequence<byte> data)
    {
        switch (new Bhs(_header).Opcode)
        {
            case Opcode.ScsiCommand:
                HandleScsiCommand(data);
                return default;
            case Opcode.NopOut:
                HandleNopOut(data);
                return default;
            case Opcode.TextRequest:
                HandleTextRequest(data);
                return default;
            case Opcode.TaskManagementRequest:
                return HandleTaskManagementAsync();
            case Opcode.LogoutRequest:
                return HandleLogoutAsync();
            default:
                return default;
        }
    }

    private void HandleScsiCommand(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        uint itt = bhs.InitiatorTaskTag;
        long expected = bhs.ExpectedDataTransferLength;
        int immediate = (int)data.Length;
        bool read = bhs.ReadBit, write = bhs.WriteBit;

        // RFC 7143 11.3: immediate data only with W, never beyond EDTL or FirstBurstLength.
        if (immediate > 0 && (!write || !_params.ImmediateData || immediate > expected || immediate > _params.FirstBurstLength))
            RejectAndClose(RejectReason.ProtocolError, "immediate data not allowed here");
        if (write && !bhs.Final && _params.InitialR2T)
            RejectAndClose(RejectReason.ProtocolError, "unsolicited Data-Out announced while InitialR2T=Yes");

        if (read && write)
        {
            // Bidirectional commands (XDWRITEREAD) are not part of this target's command set.
            WriteCheckCondition(itt, bhs.Lun, SenseKeyIllegalRequest, 0x24, 0x00);
            return;
        }
        if (expected > _limits.MaxTransferLength)
        {
            WriteCheckCondition(itt, bhs.Lun, SenseKeyIllegalRequest, 0x24, 0x00);
            return;
        }

        CommandState state;
        lock (_commandsLock)
        {
            if (_commands.ContainsKey(itt))
            {
                // RFC 7143 11.17.1: the tag names a task still in progress.
                WriteReject(RejectReason.TaskInProgress);
                return;
            }
            state = _statePool.Count > 0 ? _statePool.Pop() : new CommandState();
            state.Released = false;
            _commands[itt] = state;
        }

        int length = (int)expected;
        state.Rent(read || write ? length : 0);
        ScsiTask task = state.Task;
        task.Nexus = _session!.Nexus!;
        task.Lun = bhs.Lun;
        task.Tag = itt;
        task.CommandSequenceNumber = bhs.CmdSN;
        task.Attribute = (TaskAttribute)bhs.TaskAttributeBits;
        task.ExpectedDataTransferLength = read || write ? length : 0;
        task.IsRead = read;
        task.IsWrite = write;
        SetCdb(task, bhs);
        task.AbortCallback = _onAbort ??= OnTaskAborted;

        if (!write || length == 0)
        {
            Execute(state);
            return;
        }

        if (immediate > 0) data.CopyTo(state.Buffer.AsSpan(0, immediate));
        state.Received = immediate;
        int firstBurstEnd = Math.Min(_params.FirstBurstLength, length);
        if (!bhs.Final && immediate < firstBurstEnd)
        {
            state.UnsolicitedOpen = true;
            state.UnsolicitedEnd = firstBurstEnd;
            state.UnsolicitedNextOffset = immediate;
            state.NextR2TOffset = firstBurstEnd;
        }
        else
        {
            state.NextR2TOffset = immediate;
        }

        if (state.Received == length)
        {
            Execute(state);
            return;
        }
        _server.Target.Register(task);
        lock (_commandsLock) IssueR2Ts(state);
    }

    /// <summary>The CDB is the 16 bytes of the BHS plus an Extended CDB AHS (RFC 7143 11.2.2.3).</summary>
    private void SetCdb(ScsiTask task, Bhs bhs)
    {
        int ahsLength = bhs.TotalAhsLength;
        if (ahsLength >= 4)
        {
            ReadOnlySpan<byte> ahs = _header.AsSpan(Bhs.Length, ahsLength);
            int len = BinaryPrimitives.ReadUInt16BigEndian(ahs);
            if (ahs[2] == 1 && len >= 1 && len - 1 + 4 <= ahsLength)
            {
                Span<byte> cdb = stackalloc byte[16 + len - 1];
                bhs.Cdb.CopyTo(cdb);
                ahs.Slice(4, len - 1).CopyTo(cdb[16..]);
                task.SetCdb(cdb);
                return;
            }
        }
        task.SetCdb(bhs.Cdb);
    }

    /// <summary>Asks for the next bursts, at most MaxOutstandingR2T at a time (RFC 7143 3.2.4.1, 11.8).</summary>
    private void IssueR2Ts(CommandState state)
    {
        Span<byte> h = stackalloc byte[Bhs.Length];
        while (state.R2TCount < _params.MaxOutstandingR2T && state.NextR2TOffset < state.Length)
        {
            int length = Math.Min(_params.MaxBurstLength, state.Length - state.NextR2TOffset);
            uint ttt = _nextTargetTransferTag++;
            if (ttt == Bhs.ReservedTag) ttt = _nextTargetTransferTag++;
            state.AddR2T(new R2TEntry { TargetTransferTag = ttt, Offset = state.NextR2TOffset, Length = length, NextOffset = state.NextR2TOffset });
            BhsWriter.Begin(h, Opcode.ReadyToTransfer, 0x80, 0);
            BhsWriter.Lun(h, state.Task.Lun);
            BhsWriter.Word(h, 16, state.Task.Tag);
            BhsWriter.Word(h, 20, ttt);
            BhsWriter.Word(h, 36, state.NextR2TSN++);
            BhsWriter.Word(h, 40, (uint)state.NextR2TOffset);
            BhsWriter.Word(h, 44, (uint)length);
            WriteStamped(h, default, advanceStatSN: false);
            state.NextR2TOffset += length;
        }
    }

    /// <summary>
    /// Data-Out (RFC 7143 11.7): checks DataSN, offsets and burst bounds, then fills the buffer.
    /// A sequence error fails only its command (CHECK CONDITION, ABORTED COMMAND with the
    /// iSCSI sense codes of RFC 7143 11.4.7.2); the connection and the other tasks carry on,
    /// and later Data-Out for the failed task is discarded.
    /// </summary>
    private void HandleDataOut(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        uint ttt = bhs.TargetTransferTag;
        uint dataSN = bhs.DataSN;
        int offset = (int)Math.Min(bhs.BufferOffset, int.MaxValue);
        int length = (int)data.Length;
        CommandState? ready = null;
        CommandState? failed = null;
        DataOutError error = DataOutError.None;
        lock (_commandsLock)
        {
            // Data for an unknown or aborted task is discarded (RFC 7143 4.2.3.x, aborted tasks).
            if (!_commands.TryGetValue(bhs.InitiatorTaskTag, out var state) || state.Executing) return;
            if (ttt == Bhs.ReservedTag)
            {
                if (!state.UnsolicitedOpen) error = DataOutError.UnexpectedUnsolicitedData;
                else if (dataSN != state.UnsolicitedNextDataSN) error = DataOutError.DataSN;
                else if (offset != state.UnsolicitedNextOffset || (long)offset + length > state.UnsolicitedEnd) error = DataOutError.Offset;
                else
                {
                    data.CopyTo(state.Buffer.AsSpan(offset, length));
                    state.UnsolicitedNextOffset += length;
                    state.UnsolicitedNextDataSN++;
                    state.Received += length;
                    if (bhs.Final)
                    {
                        state.UnsolicitedOpen = false;
                        if (state.UnsolicitedNextOffset != state.UnsolicitedEnd) error = DataOutError.NotEnoughUnsolicitedData;
                    }
                }
            }
            else
            {
                int i = state.FindR2T(ttt);
                if (i < 0) error = DataOutError.TargetTransferTag;
                else
                {
                    ref R2TEntry r2t = ref state.R2Ts[i];
                    if (dataSN != r2t.NextDataSN) error = DataOutError.DataSN;
                    else if (offset != r2t.NextOffset) error = DataOutError.Offset;
                    else if ((long)offset + length > r2t.Offset + r2t.Length) error = DataOutError.TooMuchData;
                    else
                    {
                        data.CopyTo(state.Buffer.AsSpan(offset, length));
                        r2t.NextOffset += length;
                        r2t.NextDataSN++;
                        state.Received += length;
                        if (r2t.NextOffset == r2t.Offset + r2t.Length)
                        {
                            state.RemoveR2T(i);
                            IssueR2Ts(state);
                        }
                        else if (bhs.Final) error = DataOutError.DataPhase;
                    }
                }
            }
            if (error != DataOutError.None) failed = state;
            else if (state.Received == state.Length && !state.UnsolicitedOpen && state.R2TCount == 0)
            {
                // Decided under the lock, so a concurrent abort can no longer release it under Execute.
                state.Executing = true;
                ready = state;
            }
        }
        if (failed is not null)
        {
            FailDataOut(failed, error, dataSN, offset);
            return;
        }
        if (ready is not null) Execute(ready);
    }

    private enum DataOutError { None, DataSN, Offset, TooMuchData, TargetTransferTag, UnexpectedUnsolicitedData, NotEnoughUnsolicitedData, DataPhase }

    private void FailDataOut(CommandState state, DataOutError error, uint dataSN, int offset)
    {
        // RFC 7143 11.4.7.2 sense codes (sense key ABORTED COMMAND).
        (byte asc, byte ascq) = error switch
        {
            DataOutError.Offset => ((byte)0x4b, (byte)0x05),                    // DATA OFFSET ERROR
            DataOutError.TooMuchData => ((byte)0x4b, (byte)0x02),               // TOO MUCH WRITE DATA
            DataOutError.TargetTransferTag => ((byte)0x4b, (byte)0x01),         // INVALID TARGET PORT TRANSFER TAG RECEIVED
            DataOutError.UnexpectedUnsolicitedData => ((byte)0x0c, (byte)0x0c), // UNEXPECTED UNSOLICITED DATA
            DataOutError.NotEnoughUnsolicitedData => ((byte)0x0c, (byte)0x0d),  // NOT ENOUGH UNSOLICITED DATA
            _ => ((byte)0x4b, (byte)0x00),                                      // DATA PHASE ERROR (DataSN, short burst)
        };
        _log.LogWarning("{Connection}: Data-Out error for ITT {Itt:x8} ({Error}, DataSN {DataSN}, offset {Offset}); command failed",
            this, state.Task.Tag, error, dataSN, offset);
        uint itt = state.Task.Tag;
        ulong lun = state.Task.Lun;
        bool respond = state.Task.TryCommitResponse();
        _server.Target.Unregister(state.Task);
        Release(state);
        if (respond) WriteCheckCondition(itt, lun, SenseKeyAbortedCommand, asc, ascq);
    }

    private void Execute(CommandState state)
    {
        ScsiTask task = state.Task;
        state.Executing = true;
        if (task.IsWrite) task.DataOut = state.Buffer.AsMemory(0, state.Length);
        if (task.IsRead) task.DataIn = state.Buffer.AsMemory(0, state.Length);
        ValueTask execution;
        try
        {
            execution = _server.Target.ExecuteAsync(task);
        }
        catch (Exception ex)
        {
            execution = ValueTask.FromException(ex);
        }
        if (execution.IsCompletedSuccessfully)
        {
            Complete(state);
            return;
        }
        _ = AwaitExecutionAsync(execution, state);
    }

    private async Task AwaitExecutionAsync(ValueTask execution, CommandState state)
    {
        try
        {
            await execution.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The SCSI layer must not throw; if it does, the command fails, not the node.
            _log.LogError(ex, "{Connection}: command {Opcode:x2} failed", this, state.Task.CdbLength > 0 ? state.Task.Cdb[0] : 0);
            SetInternalFailure(state.Task);
        }
        Complete(state);
        FlushPending();
    }

    private void Complete(CommandState state)
    {
        if (_phase != Phase.LoggedOut && state.Task.TryCommitResponse()) WriteResult(state);
        Release(state);
    }

    private void Release(CommandState state)
    {
        lock (_commandsLock)
        {
            if (state.Released) return;
            if (_commands.TryGetValue(state.Task.Tag, out var s) && ReferenceEquals(s, state)) _commands.Remove(state.Task.Tag);
            state.Clear();
            state.Released = true;
            if (_statePool.Count < 256) _statePool.Push(state);
        }
    }

    /// <summary>Task management aborted a task: drop it now if it still waits for data.</summary>
    private void OnTaskAborted(ScsiTask task)
    {
        CommandState? waiting = null;
        lock (_commandsLock)
        {
            if (_commands.TryGetValue(task.Tag, out var state) && ReferenceEquals(state.Task, task) && !state.Executing)
                waiting = state;
        }
        if (waiting is not null) Release(waiting);
    }

    /// <summary>Connection teardown: tasks still waiting for data die here; running ones finish unseen.</summary>
    private void AbortAllCommands()
    {
        List<CommandState> waiting = [];
        lock (_commandsLock)
        {
            foreach (var state in _commands.Values)
                if (!state.Executing) waiting.Add(state);
        }
        foreach (var state in waiting)
        {
            _server.Target.Unregister(state.Task);
            Release(state);
        }
        _heldCommands.Clear();
    }

    private const byte SenseKeyIllegalRequest = 0x05;
    private const byte SenseKeyHardwareError = 0x04;
    private const byte SenseKeyAbortedCommand = 0x0b;

    private static void SetInternalFailure(ScsiTask task)
    {
        task.Status = ScsiStatus.CheckCondition;
        Span<byte> sense = stackalloc byte[18];
        FixedSense(sense, SenseKeyHardwareError, 0x44, 0x00); // INTERNAL TARGET FAILURE
        task.SetSense(sense);
        task.DataInLength = 0;
    }

    private static void FixedSense(Span<byte> sense, byte key, byte asc, byte ascq)
    {
        sense.Clear();
        sense[0] = 0x70; // SPC-5 4.4.3 fixed format, current error
        sense[2] = key;
        sense[7] = 10;
        sense[12] = asc;
        sense[13] = ascq;
    }

    /// <summary>A transport-level refusal of a command that never reached the SCSI layer.</summary>
    private void WriteCheckCondition(uint itt, ulong lun, byte key, byte asc, byte ascq)
    {
        Span<byte> payload = stackalloc byte[2 + 18];
        BinaryPrimitives.WriteUInt16BigEndian(payload, 18);
        FixedSense(payload[2..], key, asc, ascq);
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.ScsiResponse, 0x80, payload.Length);
        h[3] = (byte)ScsiStatus.CheckCondition;
        BhsWriter.Word(h, 16, itt);
        WriteStamped(h, payload, advanceStatSN: true);
    }

    /// <summary>
    /// Data-In PDUs (at most the initiator's MaxRecvDataSegmentLength each, sequences bounded by
    /// MaxBurstLength) with the status in the last one when there is no sense (RFC 7143 11.7.4),
    /// otherwise a SCSI Response with sense; residuals from the CDB's own length (11.4.5).
    /// </summary>
    private void WriteResult(CommandState state)
    {
        ScsiTask task = state.Task;
        int edtl = task.ExpectedDataTransferLength;
        int dataIn = task.IsRead ? Math.Clamp(task.DataInLength, 0, edtl) : 0;
        int commandLength = task.CommandTransferLength >= 0 ? task.CommandTransferLength : (task.IsRead ? dataIn : edtl);
        byte residualFlags = 0;
        uint residual = 0;
        if (commandLength > edtl)
        {
            residualFlags = 0x04; // O: overflow
            residual = (uint)(commandLength - edtl);
        }
        else if (commandLength < edtl)
        {
            residualFlags = 0x02; // U: underflow
            residual = (uint)(edtl - commandLength);
        }
        bool sense = task.SenseLength > 0;
        bool statusInData = dataIn > 0 && !sense && task.Status is ScsiStatus.Good or ScsiStatus.ConditionMet;
        uint dataSN = 0;
        Span<byte> h = stackalloc byte[Bhs.Length];
        lock (_outputLock)
        {
            try
            {
                if (dataIn > 0)
                {
                    int segment = _params.InitiatorMaxRecvDataSegmentLength;
                    int burst = _params.MaxBurstLength;
                    byte[] buffer = state.Buffer!;
                    int offset = 0;
                    while (offset < dataIn)
                    {
                        int burstEnd = (offset / burst + 1) * burst;
                        int length = Math.Min(Math.Min(segment, dataIn - offset), burstEnd - offset);
                        bool last = offset + length == dataIn;
                        bool final = last || offset + length == burstEnd;
                        bool withStatus = last && statusInData;
                        byte flags = (byte)((final ? 0x80 : 0) | (withStatus ? 0x01 | residualFlags : 0));
                        BhsWriter.Begin(h, Opcode.DataIn, flags, length);
                        if (withStatus) h[3] = (byte)task.Status;
                        BhsWriter.Word(h, 16, task.Tag);
                        BhsWriter.Word(h, 20, Bhs.ReservedTag);
                        StampSequence(h, advanceStatSN: withStatus);
                        if (!withStatus) BhsWriter.Word(h, 24, 0);
                        BhsWriter.Word(h, 36, dataSN++);
                        BhsWriter.Word(h, 40, (uint)offset);
                        if (withStatus) BhsWriter.Word(h, 44, residual);
                        WritePduLocked(h, buffer.AsSpan(offset, length));
                        offset += length;
                    }
                }
                if (!statusInData)
                {
                    Span<byte> payload = stackalloc byte[2 + 252];
                    int payloadLength = 0;
                    if (sense)
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)task.SenseLength);
                        task.Sense.CopyTo(payload[2..]);
                        payloadLength = 2 + task.SenseLength;
                    }
                    BhsWriter.Begin(h, Opcode.ScsiResponse, (byte)(0x80 | residualFlags), payloadLength);
                    h[2] = 0x00; // command completed at target
                    h[3] = (byte)task.Status;
                    BhsWriter.Word(h, 16, task.Tag);
                    StampSequence(h, advanceStatSN: true);
                    BhsWriter.Word(h, 36, task.IsRead ? dataSN : state.NextR2TSN);
                    BhsWriter.Word(h, 44, residual);
                    WritePduLocked(h, payload[..payloadLength]);
                }
            }
            catch (InvalidOperationException)
            {
                // output completed by teardown: the initiator is gone
            }
        }
    }

    private sealed class SerialComparer : IComparer<uint>
    {
        public static readonly SerialComparer Instance = new();
        public int Compare(uint x, uint y) => x == y ? 0 : SerialLess(x, y) ? -1 : 1;
    }
}
