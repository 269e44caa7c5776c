using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tessera.Buffers;
using Tessera.Iscsi.Login;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Session;
using Tessera.Scsi;
using Tessera.Hashing;

namespace Tessera.Iscsi.Connection;

/// <summary>
/// One TCP connection of an iSCSI session, an explicit state machine (login → full feature →
/// logged out) driven by a single receive loop. Responses go through an output pipe drained
/// by a send loop, so a batch of PDUs read together is answered with one send.
/// The partial files split the PDU families: Login, Command (SCSI Command/Data-Out/R2T/Data-In),
/// Text, Control (NOP, task management, logout, keepalive) and Send (PDU writers).
/// </summary>
internal sealed partial class IscsiConnection
{
    private enum Phase { Login, FullFeature, LoggedOut }

    private static long s_nextId;

    private readonly IscsiTargetServer _server;
    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly Pipe _outputPipe;
    private readonly PipeWriter _output;
    private readonly object _outputLock = new();
    private readonly ILogger _log;
    private readonly byte[] _header = new byte[Bhs.Length + 1020];
    private readonly CancellationTokenSource _closed = new();
    private readonly long _id = Interlocked.Increment(ref s_nextId);
    private readonly IscsiLimits _limits;

    private OperationalParameters _params = new();
    private IscsiSession? _session;
    private Phase _phase = Phase.Login;
    private bool _headerDigest;
    private bool _dataDigest;
    private uint _statSN;
    private uint _expCmdSN;
    private long _lastReceiveTicks = Environment.TickCount64;
    private bool _flushPending;
    private string? _closeReason;

    public IscsiConnection(IscsiTargetServer server, Socket socket)
    {
        _server = server;
        _socket = socket;
        _limits = server.Options.Limits;
        _log = server.Logger;
        _input = PipeReader.Create(new NetworkStream(socket, ownsSocket: false),
            new StreamPipeReaderOptions(pool: BlockMemoryPool.Shared, bufferSize: BlockMemoryPool.BlockSize, minimumReadSize: 16 * 1024));
        // No writer back-pressure: the CmdSN window bounds what can be queued, and flushing
        // must complete synchronously under the output lock.
        _outputPipe = new Pipe(new PipeOptions(pool: BlockMemoryPool.Shared, pauseWriterThreshold: 0, resumeWriterThreshold: 0,
            minimumSegmentSize: BlockMemoryPool.BlockSize, useSynchronizationContext: false));
        _output = _outputPipe.Writer;
        _loginState = new LoginState(server.Options.Chap);
    }

    private uint MaxCmdSN => _expCmdSN + (uint)_limits.CommandWindow - 1;

    public override string ToString() =>
        _session is null ? $"conn#{_id}" : $"conn#{_id} {_session.InitiatorName} isid {_session.Isid:x12}";

    public async Task RunAsync(CancellationToken stopping)
    {
        using var registration = stopping.Register(static s => ((IscsiConnection)s!).Abort("node stopping"), this);
        Task sendLoop = SendLoopAsync();
        Task keepAlive = KeepAliveLoopAsync();
        try
        {
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _closeReason ??= ex.Message;
        }
        catch (ProtocolException ex)
        {
            _closeReason ??= ex.Message;
            _log.LogWarning("{Connection}: closing after protocol error: {Reason}", this, ex.Message);
        }
        finally
        {
            await TearDownAsync(sendLoop).ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        while (true)
        {
            ReadResult result = await _input.ReadAsync(_closed.Token).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            try
            {
                while (TryFrame(ref buffer, out ReadOnlySequence<byte> data))
                {
                    _lastReceiveTicks = Environment.TickCount64;
                    ValueTask handled = DispatchAsync(data);
                    if (!handled.IsCompletedSuccessfully) await handled.ConfigureAwait(false);
                    if (_phase == Phase.LoggedOut) return;
                }
                if (result.IsCompleted || result.IsCanceled)
                {
                    if (!buffer.IsEmpty) _closeReason = "connection closed inside a PDU";
                    else _closeReason ??= "initiator closed the connection";
                    return;
                }
            }
            finally
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
            }
            FlushPending();
        }
    }

    /// <summary>
    /// Cuts one PDU off the front of <paramref name="buffer"/> (RFC 7143 11.2): BHS, AHS,
    /// header digest, data segment padded to 4 bytes, data digest. The header is copied into
    /// <see cref="_header"/>; the data stays in the pipe's memory.
    /// </summary>
    private bool TryFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> data)
    {
        data = default;
        if (buffer.Length < Bhs.Length) return false;
        buffer.Slice(0, Bhs.Length).CopyTo(_header);
        int ahs = _header[4] * 4;
        int dataLength = (_header[5] << 16) | (_header[6] << 8) | _header[7];
        int limit = _phase == Phase.Login ? 8192 : _limits.MaxRecvDataSegmentLength;
        if (dataLength > limit)
        {
            // RFC 7143 7.x: a PDU larger than we declared is a protocol error; the stream can't be trusted.
            RejectAndClose(RejectReason.ProtocolError, $"data segment of {dataLength} bytes exceeds MaxRecvDataSegmentLength {limit}");
        }
        int headerDigest = _headerDigest ? 4 : 0;
        int dataDigest = _dataDigest && dataLength > 0 ? 4 : 0;
        int padded = (dataLength + 3) & ~3;
        long total = Bhs.Length + ahs + headerDigest + padded + dataDigest;
        if (buffer.Length < total) return false;

        if (ahs > 0) buffer.Slice(Bhs.Length, ahs).CopyTo(_header.AsSpan(Bhs.Length));
        if (headerDigest != 0)
        {
            Span<byte> digest = stackalloc byte[4];
            buffer.Slice(Bhs.Length + ahs, 4).CopyTo(digest);
            if (Crc32C.Read(digest) != Crc32C.Compute(_header.AsSpan(0, Bhs.Length + ahs)))
                throw new ProtocolException("header digest error"); // RFC 7143 7.8: discard; at ERL 0 the connection goes.
        }
        data = buffer.Slice(Bhs.Length + ahs + headerDigest, dataLength);
        if (dataDigest != 0)
        {
            Span<byte> digest = stackalloc byte[4];
            buffer.Slice(Bhs.Length + ahs + headerDigest + padded, 4).CopyTo(digest);
            uint crc = ~0u;
            foreach (var segment in buffer.Slice(Bhs.Length + ahs + headerDigest, padded)) crc = Crc32C.Append(crc, segment.Span);
            if (Crc32C.Read(digest) != ~crc)
            {
                buffer = buffer.Slice(total);
                RejectAndClose(RejectReason.DataDigestError, "data digest error");
            }
        }
        buffer = buffer.Slice(total);
        return true;
    }

    private ValueTask DispatchAsync(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        Opcode opcode = bhs.Opcode;
        if (_phase == Phase.Login)
        {
            if (opcode != Opcode.LoginRequest)
                throw new ProtocolException($"{opcode} received before login completed");
            return HandleLoginAsync(data);
        }

        if (_session!.IsDiscovery && opcode is Opcode.ScsiCommand or Opcode.TaskManagementRequest or Opcode.DataOut)
        {
            // RFC 7143 4.3: a discovery session carries only Text, NOP and Logout.
            WriteReject(RejectReason.ProtocolError);
            return default;
        }

        switch (opcode)
        {
            case Opcode.DataOut:
                HandleDataOut(data);
                return default;
            case Opcode.ScsiCommand:
            case Opcode.NopOut:
            case Opcode.TaskManagementRequest:
            case Opcode.TextRequest:
            case Opcode.LogoutRequest:
                return SequenceCommand(data);
            case Opcode.LoginRequest:
                // RFC 7143 6.x: login PDUs in full feature phase are a protocol error.
                WriteReject(RejectReason.ProtocolError);
                return default;
            case Opcode.SnackRequest:
                // ERL 0: no SNACK support (RFC 7143 11.16).
                WriteReject(RejectReason.ProtocolError);
                return default;
            default:
                WriteReject(RejectReason.CommandNotSupported);
                return default;
        }
    }

    /// <summary>Stops the connection now; safe from any thread.</summary>
    public void Abort(string reason)
    {
        _closeReason ??= reason;
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
        _input.CancelPendingRead();
    }

    private void RejectAndClose(RejectReason reason, string why)
    {
        WriteReject(reason);
        FlushPending();
        throw new ProtocolException(why);
    }

    private async Task TearDownAsync(Task sendLoop)
    {
        _phase = Phase.LoggedOut;
        AbortAllCommands();
        FlushPending();
        lock (_outputLock) _output.Complete();
        // Let queued responses (a Logout or login reject) reach the initiator before closing.
        await Task.WhenAny(sendLoop, Task.Delay(2000)).ConfigureAwait(false);
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
        _socket.Dispose();
        await _input.CompleteAsync().ConfigureAwait(false);
        await EndSessionAsync().ConfigureAwait(false);
        _log.LogDebug("{Connection} closed: {Reason}", this, _closeReason);
    }

    private async Task EndSessionAsync()
    {
        var session = _session;
        if (session is null || !ReferenceEquals(session.Connection, this)) return;
        session.Connection = null;
        _server.Sessions.Remove(session);
        // RFC 7143 6.3: at ERL 0 losing the only connection ends the session, and with it the I_T nexus.
        if (session.Nexus is null) return;
        try
        {
            await _server.Target.NexusLostAsync(session.Nexus).ConfigureAwait(false);
        }
        catch (LuContextUnavailableException e)
        {
            // Its tasks are aborted already; only the context could not record the loss (store unreachable,
            // node fenced). The cluster records it for a fenced node's nexuses when the node leaves.
            _log.LogWarning("{Connection}: I_T nexus loss not recorded in the LU context: {Reason}", this, e.Message);
        }
    }
}

/// <summary>A violation after which the connection cannot continue (RFC 7143 7.x, ERL 0).</summary>
internal sealed class ProtocolException(string message) : Exception(message);
