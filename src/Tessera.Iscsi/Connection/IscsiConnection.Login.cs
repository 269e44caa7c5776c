using System.Buffers;
using Microsoft.Extensions.Logging;
using Tessera.Iscsi.Login;
using Tessera.Iscsi.Protocol;
using Tessera.Iscsi.Session;
using Tessera.Scsi;

namespace Tessera.Iscsi.Connection;

internal sealed partial class IscsiConnection
{
    private readonly LoginState _loginState;
    private ParameterNegotiator? _negotiator;

    /// <summary>One Login Request (RFC 7143 6, 11.12): stage checks, keys, CHAP, and the move to full feature phase.</summary>
    private ValueTask HandleLoginAsync(ReadOnlySequence<byte> data)
    {
        var bhs = new Bhs(_header);
        var st = _loginState;
        var chap = _server.Options.Chap;
        if (!st.Started)
        {
            st.Started = true;
            st.Isid = bhs.Isid;
            st.Tsih = bhs.Tsih;
            st.Cid = bhs.Cid;
            st.Stage = (LoginStage)bhs.CurrentStage;
            _statSN = bhs.ExpStatSN;
            _expCmdSN = bhs.CmdSN;
            _negotiator = new ParameterNegotiator(_limits, _params);
            // RFC 7143 11.12.4: this target speaks version 0x00 only.
            if (bhs.VersionMin > 0) return FailLogin(LoginStatus.UnsupportedVersion, "unsupported iSCSI version");
        }
        else if (bhs.Isid != st.Isid || bhs.Tsih != st.Tsih)
        {
            return FailLogin(LoginStatus.InvalidDuringLogin, "ISID or TSIH changed during login");
        }
        st.InitiatorTaskTag = bhs.InitiatorTaskTag;

        int csg = bhs.CurrentStage, nsg = bhs.NextStage;
        bool transit = bhs.Transit;
        if (transit && bhs.Continue) return FailLogin(LoginStatus.InitiatorError, "T and C bits both set");
        if (csg != (int)st.Stage || csg > 1) return FailLogin(LoginStatus.InitiatorError, $"login stage {csg} not expected (at {(int)st.Stage})");
        if (transit && (nsg <= csg || nsg == 2)) return FailLogin(LoginStatus.InitiatorError, $"invalid next stage {nsg}");

        foreach (var segment in data) st.PendingText.AddRange(segment.Span);
        if (st.PendingText.Count > 64 * 1024) return FailLogin(LoginStatus.OutOfResources, "login text too long");
        if (bhs.Continue)
        {
            // RFC 7143 6.1: text continues in the next PDU; acknowledge with an empty response.
            WriteLoginResponse(transit: false, csg, 0, LoginStatus.Success, []);
            return default;
        }

        var keys = new List<KeyValuePair<string, string>>();
        bool parsed = TextParameters.TryParse(st.PendingText.ToArray(), keys, out string? parseError);
        st.PendingText.Clear();
        if (!parsed) return FailLogin(LoginStatus.InitiatorError, parseError!);

        if (st.InitiatorName is null)
        {
            string? name = Find(keys, "InitiatorName");
            if (string.IsNullOrEmpty(name)) return FailLogin(LoginStatus.MissingParameter, "InitiatorName missing");
            string sessionType = Find(keys, "SessionType") ?? "Normal";
            if (sessionType is not ("Normal" or "Discovery")) return FailLogin(LoginStatus.SessionTypeNotSupported, $"SessionType {sessionType}");
            st.IsDiscovery = sessionType == "Discovery";
            if (!st.IsDiscovery)
            {
                string? target = Find(keys, "TargetName");
                if (string.IsNullOrEmpty(target)) return FailLogin(LoginStatus.MissingParameter, "TargetName missing");
                // iSCSI names compare after stringprep, which for IQNs means case-insensitively (RFC 3722).
                if (!string.Equals(target, _server.Options.TargetName, StringComparison.OrdinalIgnoreCase))
                    return FailLogin(LoginStatus.NotFound, $"no target named {target}");
            }
            st.InitiatorName = name;
            st.ChapRequired = chap.Required && (!st.IsDiscovery || chap.RequireForDiscovery);
        }

        var response = new List<KeyValuePair<string, string>>();
        var chapKeys = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in keys)
        {
            switch (key)
            {
                case "InitiatorName":
                case "InitiatorAlias":
                case "SessionType":
                case "TargetName":
                    break; // declarative, no answer
                case "AuthMethod":
                    if (csg != 0)
                    {
                        response.Add(new(key, "Reject"));
                        break;
                    }
                    st.AuthMethod = ChooseAuthMethod(value, st.ChapRequired, chap.Required);
                    response.Add(new(key, st.AuthMethod ?? "Reject"));
                    if (st.AuthMethod is null) return FailLogin(LoginStatus.AuthenticationFailure, $"no acceptable AuthMethod in {value}");
                    break;
                case "CHAP_A":
                case "CHAP_I":
                case "CHAP_C":
                case "CHAP_N":
                case "CHAP_R":
                    chapKeys.Add(new(key, value));
                    break;
                case "TargetAlias":
                case "TargetAddress":
                case "TargetPortalGroupTag":
                    response.Add(new(key, "Irrelevant")); // target-only keys
                    break;
                default:
                    if (!_negotiator!.TryNegotiate(key, value, inLogin: true, response)) response.Add(new(key, "NotUnderstood"));
                    break;
            }
        }

        if (!st.IsDiscovery && !st.TargetPortalGroupTagSent)
        {
            // RFC 7143 13.9: the first Login Response of a normal session names the portal group.
            response.Add(new("TargetPortalGroupTag", _server.Options.PortalGroupTag.ToString()));
            if (_server.Options.TargetAlias is { } alias) response.Add(new("TargetAlias", alias));
            st.TargetPortalGroupTagSent = true;
        }

        bool grantTransit = transit;
        if (csg == 0)
        {
            if (st.AuthMethod is null && (transit || chapKeys.Count > 0))
            {
                // No AuthMethod offered: only acceptable when no authentication is required.
                if (st.ChapRequired) return FailLogin(LoginStatus.AuthenticationFailure, "authentication required");
                st.AuthMethod = "None";
            }
            if (st.AuthMethod == "CHAP")
            {
                string? failure = st.Chap.Step(chapKeys, response);
                if (failure is not null) return FailLogin(LoginStatus.AuthenticationFailure, failure);
                st.Authenticated = st.Chap.Done;
                grantTransit = transit && st.Authenticated;
            }
            else if (st.AuthMethod == "None")
            {
                st.Authenticated = !st.ChapRequired;
            }
        }
        else if (st.ChapRequired && !st.Authenticated)
        {
            // Skipping the security stage does not skip authentication.
            return FailLogin(LoginStatus.AuthenticationFailure, "authentication required");
        }

        if (csg == 1 || (grantTransit && nsg == 3)) _negotiator!.DeclareOwnMaxRecvDataSegmentLength(response);

        if (!grantTransit)
        {
            WriteLoginResponse(false, csg, 0, LoginStatus.Success, response);
            return default;
        }
        if (nsg != 3)
        {
            st.Stage = (LoginStage)nsg;
            WriteLoginResponse(true, csg, nsg, LoginStatus.Success, response);
            return default;
        }
        return CompleteLogin(csg, response);
    }

    private static string? ChooseAuthMethod(string offer, bool chapRequired, bool chapConfigured)
    {
        var methods = offer.Split(',');
        if (chapRequired) return methods.Contains("CHAP") ? "CHAP" : null;
        if (methods.Contains("None")) return "None";
        if (chapConfigured && methods.Contains("CHAP")) return "CHAP";
        return null;
    }

    private async ValueTask CompleteLogin(int csg, List<KeyValuePair<string, string>> response)
    {
        var st = _loginState;
        if (st.Tsih != 0)
        {
            // Adding a connection to an existing session: this target runs one per session.
            await (_server.Sessions.Find(st.Tsih) is null
                ? FailLogin(LoginStatus.SessionDoesNotExist, $"no session with TSIH {st.Tsih}")
                : FailLogin(LoginStatus.TooManyConnections, "MaxConnections is 1")).ConfigureAwait(false);
            return;
        }
        _negotiator!.Complete();
        var options = _server.Options;
        ItNexus? nexus = st.IsDiscovery ? null
            : new ItNexus(st.InitiatorName!, st.Isid, options.RelativeTargetPortId, options.TargetPortGroupId);
        var session = new IscsiSession(st.InitiatorName!, st.Isid, st.IsDiscovery, nexus, _params) { Connection = this };
        IscsiSession? old = _server.Sessions.Add(session);
        try
        {
            if (old is not null)
            {
                // Session reinstatement (RFC 7143 6.3.5): the old session ends before the new one starts,
                // so its I_T nexus loss can't land on the new session's state.
                var oldConnection = old.Connection;
                old.Connection = null;
                oldConnection?.Abort("session reinstated");
                if (old.Nexus is not null) await _server.Target.NexusLostAsync(old.Nexus).ConfigureAwait(false);
                _server.Logger.LogInformation("session of {Initiator} isid {Isid:x12} reinstated", old.InitiatorName, old.Isid);
            }
            // The login completes only once the nexus is in the LU context — with a cluster context, on every
            // node — so its first command, on any path, sees POWER ON OCCURRED. Awaited: a cluster commit
            // waits for every node's acknowledgement and must not hold a thread meanwhile.
            if (nexus is not null) await _server.Target.NexusAttachedAsync(nexus).ConfigureAwait(false);
        }
        catch (LuContextUnavailableException e)
        {
            // The cluster state cannot be reached from this node now: RFC 7143 11.13.5 status 0301h
            // "service unavailable" — the initiator retries later or logs in through another portal.
            _server.Sessions.Remove(session);
            session.Connection = null;
            _server.Logger.LogWarning("{Connection}: login refused, LU context unavailable: {Reason}", this, e.Message);
            await FailLogin(LoginStatus.ServiceUnavailable, "LU context unavailable").ConfigureAwait(false);
            return;
        }
        _session = session;
        WriteLoginResponse(true, csg, 3, LoginStatus.Success, response);
        // Digests start with the first full-feature PDU (RFC 7143 13.1).
        lock (_outputLock)
        {
            _headerDigest = _params.HeaderDigest;
            _dataDigest = _params.DataDigest;
        }
        _phase = Phase.FullFeature;
        _server.Logger.LogInformation("{Connection}: {Kind} session logged in (TSIH {Tsih}, digests {Hd}/{Dd}, MRDSL {Mrdsl})",
            this, st.IsDiscovery ? "discovery" : "normal", session.Tsih, _params.HeaderDigest ? "CRC32C" : "None",
            _params.DataDigest ? "CRC32C" : "None", _params.InitiatorMaxRecvDataSegmentLength);
    }

    private ValueTask FailLogin(LoginStatus status, string reason)
    {
        _server.Logger.LogWarning("{Connection}: login rejected ({Status:x4}): {Reason}", this, (ushort)status, reason);
        WriteLoginResponse(false, new Bhs(_header).CurrentStage & 1, 0, status, []);
        FlushPending();
        _closeReason = "login failed: " + reason;
        _phase = Phase.LoggedOut;
        return default;
    }

    private void WriteLoginResponse(bool transit, int csg, int nsg, LoginStatus status, List<KeyValuePair<string, string>> keys)
    {
        var st = _loginState;
        byte[] text = keys.Count == 0 ? [] : TextParameters.Encode(keys);
        Span<byte> h = stackalloc byte[Bhs.Length];
        byte flags = (byte)((transit ? 0x80 : 0) | ((csg & 3) << 2) | (transit ? nsg & 3 : 0));
        BhsWriter.Begin(h, Opcode.LoginResponse, flags, text.Length);
        h[2] = 0x00; // Version-max
        h[3] = 0x00; // Version-active
        BhsWriter.Isid(h, st.Isid);
        BhsWriter.Half(h, 14, status == LoginStatus.Success && transit && nsg == 3 ? _session?.Tsih ?? 0 : (ushort)0);
        BhsWriter.Word(h, 16, st.InitiatorTaskTag);
        h[36] = (byte)((ushort)status >> 8);
        h[37] = (byte)status;
        WriteStamped(h, text, advanceStatSN: true);
    }

    private static string? Find(List<KeyValuePair<string, string>> keys, string key)
    {
        foreach (var kv in keys)
            if (kv.Key == key) return kv.Value;
        return null;
    }
}
