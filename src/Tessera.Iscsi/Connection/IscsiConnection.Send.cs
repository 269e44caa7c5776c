using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Tessera.Buffers;
using Tessera.Iscsi.Protocol;
using Tessera.Hashing;

namespace Tessera.Iscsi.Connection;

internal sealed partial class IscsiConnection
{
    private readonly SocketSender _sender = new();

    /// <summary>Drains the output pipe into the socket, gathering segments into one send.</summary>
    private async Task SendLoopAsync()
    {
        var reader = _outputPipe.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (buffer.IsSingleSegment)
                    {
                        ReadOnlyMemory<byte> first = buffer.First;
                        while (!first.IsEmpty)
                        {
                            int sent = await _socket.SendAsync(first, SocketFlags.None).ConfigureAwait(false);
                            first = first[sent..];
                        }
                    }
                    else
                    {
                        ReadOnlySequence<byte> rest = buffer;
                        while (!rest.IsEmpty)
                        {
                            int sent = await _sender.SendAsync(_socket, rest).ConfigureAwait(false);
                            rest = rest.Slice(sent);
                        }
                    }
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Abort("send failed: " + ex.Message);
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            _sender.Dispose();
        }
    }

    /// <summary>Makes written PDUs visible to the send loop. Never blocks (no back-pressure).</summary>
    private void FlushPending()
    {
        lock (_outputLock)
        {
            if (!_flushPending) return;
            _flushPending = false;
            try
            {
                _ = _output.FlushAsync();
            }
            catch (InvalidOperationException)
            {
                // writer already completed: the connection is closing
            }
        }
    }

    /// <summary>Writes one PDU (caller holds <see cref="_outputLock"/>): header [+digest], data, pad [+digest].</summary>
    private void WritePduLocked(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data)
    {
        _flushPending = true;
        int hd = _headerDigest ? 4 : 0;
        Span<byte> span = _output.GetSpan(Bhs.Length + hd);
        header[..Bhs.Length].CopyTo(span);
        if (hd != 0) Crc32C.Write(span[Bhs.Length..], Crc32C.Compute(span[..Bhs.Length]));
        _output.Advance(Bhs.Length + hd);
        if (data.IsEmpty) return;
        _output.Write(data);
        int pad = (4 - (data.Length & 3)) & 3;
        uint crc = _dataDigest ? Crc32C.Append(~0u, data) : 0;
        if (pad != 0)
        {
            Span<byte> zeros = stackalloc byte[3] { 0, 0, 0 };
            _output.Write(zeros[..pad]);
            if (_dataDigest) crc = Crc32C.Append(crc, zeros[..pad]);
        }
        if (_dataDigest)
        {
            Span<byte> d = _output.GetSpan(4);
            Crc32C.Write(d, ~crc);
            _output.Advance(4);
        }
    }

    /// <summary>Stamps StatSN/ExpCmdSN/MaxCmdSN at offsets 24/28/32 and advances StatSN when asked.</summary>
    private void StampSequence(Span<byte> h, bool advanceStatSN)
    {
        BhsWriter.Word(h, 24, advanceStatSN ? _statSN++ : _statSN);
        BhsWriter.Word(h, 28, _expCmdSN);
        BhsWriter.Word(h, 32, MaxCmdSN);
    }

    /// <summary>Reject (RFC 7143 11.17) carrying the offending header.</summary>
    private void WriteReject(RejectReason reason)
    {
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.Reject, 0x80, Bhs.Length);
        h[2] = (byte)reason;
        BhsWriter.Word(h, 16, Bhs.ReservedTag);
        lock (_outputLock)
        {
            StampSequence(h, advanceStatSN: true);
            try { WritePduLocked(h, _header.AsSpan(0, Bhs.Length)); }
            catch (InvalidOperationException) { }
        }
    }
}

internal sealed partial class IscsiConnection
{
    /// <summary>Writes a target response whose StatSN/ExpCmdSN/MaxCmdSN are stamped in send order.</summary>
    private void WriteStamped(Span<byte> header, ReadOnlySpan<byte> data, bool advanceStatSN)
    {
        lock (_outputLock)
        {
            StampSequence(header, advanceStatSN);
            try { WritePduLocked(header, data); }
            catch (InvalidOperationException) { }
        }
    }
}
