using System.Buffers;
using Tessera.Iscsi.Login;
using Tessera.Iscsi.Protocol;

namespace Tessera.Iscsi.Connection;

/// <summary>Text Request/Response (RFC 7143 11.10-11.11): SendTargets and full-feature keys.</summary>
internal sealed partial class IscsiConnection
{
    private byte[]? _textRemainder;
    private uint _textTransferTag;
    private uint _textTag;
    private readonly List<byte> _textPending = [];

    private void HandleTextRequest(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        uint itt = bhs.InitiatorTaskTag;
        uint ttt = bhs.TargetTransferTag;

        if (ttt != Bhs.ReservedTag)
        {
            // The initiator asks for the rest of a long response (RFC 7143 11.10.4).
            if (_textRemainder is null || ttt != _textTransferTag || itt != _textTag)
            {
                WriteReject(RejectReason.InvalidPduField);
                return;
            }
            SendTextChunk(itt, bhs.Lun);
            return;
        }
        _textRemainder = null;

        foreach (var segment in data) _textPending.AddRange(segment.Span);
        if (_textPending.Count > 64 * 1024)
        {
            _textPending.Clear();
            WriteReject(RejectReason.ProtocolError);
            return;
        }
        if (bhs.Continue)
        {
            WriteTextResponse(itt, bhs.Lun, final: false, more: false, Bhs.ReservedTag, []);
            return;
        }

        var keys = new List<KeyValuePair<string, string>>();
        bool ok = TextParameters.TryParse(_textPending.ToArray(), keys, out _);
        _textPending.Clear();
        if (!ok)
        {
            WriteReject(RejectReason.ProtocolError);
            return;
        }

        var response = new List<KeyValuePair<string, string>>();
        var negotiator = new ParameterNegotiator(_limits, _params);
        foreach (var (key, value) in keys)
        {
            if (key == "SendTargets")
            {
                AddSendTargets(value, response);
                continue;
            }
            if (!negotiator.TryNegotiate(key, value, inLogin: false, response)) response.Add(new(key, "NotUnderstood"));
        }
        _textRemainder = TextParameters.Encode(response);
        _textTag = itt;
        SendTextChunk(itt, bhs.Lun);
    }

    /// <summary>
    /// SendTargets (RFC 7143 Appendix C): "All" lists every target (discovery sessions only);
    /// an empty value or our name lists this target. Every portal of the cluster is listed.
    /// </summary>
    private void AddSendTargets(string value, List<KeyValuePair<string, string>> response)
    {
        var options = _server.Options;
        bool all = value == "All" && _session!.IsDiscovery;
        bool ours = value.Length == 0 || string.Equals(value, options.TargetName, StringComparison.OrdinalIgnoreCase);
        if (value == "All" && !_session!.IsDiscovery)
        {
            response.Add(new("SendTargets", "Reject"));
            return;
        }
        if (!all && !ours) return; // unknown target: an empty answer
        response.Add(new("TargetName", options.TargetName));
        foreach (var portal in options.Portals) response.Add(new("TargetAddress", portal.ToString()));
    }

    private void SendTextChunk(uint itt, ulong lun)
    {
        byte[] text = _textRemainder ?? [];
        int max = _params.InitiatorMaxRecvDataSegmentLength;
        if (text.Length <= max)
        {
            _textRemainder = null;
            WriteTextResponse(itt, lun, final: true, more: false, Bhs.ReservedTag, text);
            return;
        }
        // Split only after a NUL so no key=value pair straddles PDUs.
        int cut = Array.LastIndexOf(text, (byte)0, max - 1) + 1;
        if (cut <= 0) cut = max;
        _textRemainder = text[cut..];
        _textTransferTag = _nextTargetTransferTag++;
        if (_textTransferTag == Bhs.ReservedTag) _textTransferTag = _nextTargetTransferTag++;
        WriteTextResponse(itt, lun, final: false, more: true, _textTransferTag, text.AsSpan(0, cut));
    }

    private void WriteTextResponse(uint itt, ulong lun, bool final, bool more, uint ttt, ReadOnlySpan<byte> text)
    {
        Span<byte> h = stackalloc byte[Bhs.Length];
        BhsWriter.Begin(h, Opcode.TextResponse, (byte)((final ? 0x80 : 0) | (more ? 0x40 : 0)), text.Length);
        BhsWriter.Lun(h, lun);
        BhsWriter.Word(h, 16, itt);
        BhsWriter.Word(h, 20, ttt);
        WriteStamped(h, text, advanceStatSN: true);
    }
}
