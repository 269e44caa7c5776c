using System.Buffers;
using Microsoft.Extensions.Logging;
using Tessera.Iscsi.Protocol;
using Tessera.Scsi;

namespace Tessera.Iscsi.Connection;

/// <summary>NOP-Out/NOP-In, task management, logout and the target's keepalive (RFC 7143 11.5, 11.14, 11.18-19).</summary>
internal sealed partial class IscsiConnection
{
    private uint _pingTag = 0x1000;
    private long _lastPingTicks;

    private void HandleNopOut(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        uint itt = bhs.InitiatorTaskTag;
        // ITT 0xffffffff: no reply wanted — e.g. the answer to our own NOP-In ping (11.18).
        if (itt == Bhs.ReservedTag) return;
        int length = (int)Math.Min(data.Length, _params.InitiatorMaxRecvDataSegmentLength);
        byte[]? rented = length > 0 ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            if (rented is not null) data.Slice(0, length).CopyTo(rented);
            Span<byte> h = stackalloc byte[Bhs.Length];
            BhsWriter.Begin(h, Opcode.NopIn, 0x80, length);
            BhsWriter.Lun(h, bhs.Lun);
            BhsWriter.Word(h, 16, itt);
            BhsWriter.Word(h, 20, Bhs.ReservedTag);
            WriteStamped(h, rented.AsSpan(0, length), advanceStatSN: true);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async ValueTask HandleTaskManagementAsync()
    {
        var bhs = new Bhs(_header);
        uint itt = bhs.InitiatorTaskTag;
        ulong lun = bhs.Lun;
        uint referencedTag = bhs.ReferencedTaskTag;
        uint refCmdSN = bhs.RefCmdSN;
        uint cmdSN = bhs.CmdSN;
        var function = (TaskManagementFunction)bhs.Function;
        TaskManagementResponse response;
        switch (function)
        {
            case TaskManagementFunction.AbortTask:
            case TaskManagementFunction.AbortTaskSet:
            case TaskManagementFunction.ClearTaskSet:
            case TaskManagementFunction.LogicalUnitReset:
            case TaskManagementFunction.TargetWarmReset:
            case TaskManagementFunction.TargetColdReset:
                FlushPending();
                response = await _server.Target.ManageAsync(_session!.Nexus!, function, lun, referencedTag).ConfigureAwait(false);
                if (function == TaskManagementFunction.AbortTask && response == TaskManagementResponse.TaskDoesNotExist
                    && SerialLess(refCmdSN, cmdSN) && !SerialLess(refCmdSN, _expCmdSN) && !SerialLess(MaxCmdSN, refCmdSN))
                {
                    // RFC 7143 11.5.1 b): the referenced command never arrived (its CmdSN is still inside the
                    // window): count it received and aborted. A task that already completed is "does not exist".
                    _heldCommands.Remove(refCmdSN);
                    response = TaskManagementResponse.FunctionComplete;
                }
                break;
            case TaskManagementFunction.TaskReassign:
                response = TaskManagementResponse.TaskAllegianceReassignmentNotSupported; // ERL 0
                break;
            case TaskManagementFunction.ClearAca:
                response = TaskManagementResponse.FunctionNotSupported; // NACA is not supported
                break;
            default:
                response = TaskManagementResponse.FunctionRejected;
                break;
        }
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.TaskManagementResponse, 0x80, 0);
        h[2] = (byte)response;
        BhsWriter.Word(h, 16, itt);
        WriteStamped(h, default, advanceStatSN: true);
        FlushPending();
        _log.LogInformation("{Connection}: {Function} on LUN {Lun:x16} -> {Response}", this, function, lun, response);

        if (function == TaskManagementFunction.TargetColdReset && response == TaskManagementResponse.FunctionComplete)
        {
            // RFC 7143 11.5.1: after a cold reset the target closes every connection, this one after its response.
            _server.CloseAllConnections(except: this);
            _phase = Phase.LoggedOut;
            _closeReason = "target cold reset";
        }
    }

    private async ValueTask HandleLogoutAsync()
    {
        var bhs = new Bhs(_header);
        int reason = bhs.LogoutReason;
        uint itt = bhs.InitiatorTaskTag;
        byte response = reason switch
        {
            0 => 0,                                       // close the session
            1 => bhs.Cid == _loginState.Cid ? (byte)0 : (byte)1, // close a connection / CID not found
            2 => 2,                                       // recovery not supported at ERL 0
            _ => 3,                                       // cleanup failed
        };
        if (response == 0)
        {
            // RFC 7143 11.15: the response reports cleanup done. Closing the only connection at ERL 0 ends
            // the session, so its I_T nexus is lost (reservations released, tasks aborted, UAs raised) before
            // the initiator can see the response and log in again.
            await EndSessionAsync().ConfigureAwait(false);
        }
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.LogoutResponse, 0x80, 0);
        h[2] = response;
        BhsWriter.Word(h, 16, itt);
        BhsWriter.Half(h, 40, 0); // Time2Wait
        BhsWriter.Half(h, 42, 0); // Time2Retain: nothing to retain at ERL 0
        WriteStamped(h, default, advanceStatSN: true);
        FlushPending();
        if (response == 0)
        {
            _phase = Phase.LoggedOut;
            _closeReason = "logged out";
        }
    }

    /// <summary>
    /// Login timeout, and NOP-In pings on an idle connection (RFC 7143 11.19): a connection that
    /// answers nothing for <see cref="IscsiLimits.NopInTimeoutSeconds"/> is dropped so its
    /// session's reservations and tasks don't outlive a dead initiator.
    /// </summary>
    private async Task KeepAliveLoopAsync()
    {
        long started = Environment.TickCount64;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_closed.Token).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                if (_phase == Phase.Login)
                {
                    if (now - started > _limits.LoginTimeoutSeconds * 1000L) Abort("login timed out");
                    continue;
                }
                if (_phase != Phase.FullFeature || _limits.NopInIntervalSeconds <= 0) continue;
                long idle = now - Volatile.Read(ref _lastReceiveTicks);
                if (idle > _limits.NopInTimeoutSeconds * 1000L)
                {
                    Abort("initiator silent after NOP-In");
                    break;
                }
                if (idle > _limits.NopInIntervalSeconds * 1000L && now - _lastPingTicks > _limits.NopInIntervalSeconds * 1000L)
                {
                    _lastPingTicks = now;
                    SendPing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void SendPing()
    {
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.NopIn, 0x80, 0);
        BhsWriter.Word(h, 16, Bhs.ReservedTag);
        BhsWriter.Word(h, 20, _pingTag++);
        WriteStamped(h, default, advanceStatSN: false);
        FlushPending();
    }

    /// <summary>Asks the initiator to log out (Async Message, event 1) ahead of a shutdown.</summary>
    public void RequestLogout(TimeSpan within)
    {
        if (_phase != Phase.FullFeature) return;
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.AsyncMessage, 0x80, 0);
        BhsWriter.Word(h, 16, Bhs.ReservedTag);
        h[36] = 1; // AsyncEvent: target requests logout
        BhsWriter.Half(h, 42, (ushort)Math.Max(1, within.TotalSeconds)); // Parameter3: seconds to log out
        WriteStamped(h, default, advanceStatSN: true);
        FlushPending();
    }
}
