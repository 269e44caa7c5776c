using System.Globalization;

namespace Tessera.Iscsi.Login;

/// <summary>
/// Answers operational keys (RFC 7143 6.2, 13): each key's result function (min, max, AND, OR,
/// list choice) applied between the initiator's offer and this target's limits, writing the
/// result into <see cref="OperationalParameters"/>.
/// </summary>
internal sealed class ParameterNegotiator(IscsiLimits limits, OperationalParameters parameters)
{
    private bool _declaredOwnMrdsl;

    /// <summary>Keys that only the login phase may carry (RFC 7143 13: "LO"/"IO" keys).</summary>
    private static readonly HashSet<string> LoginOnlyKeys =
    [
        "HeaderDigest", "DataDigest", "MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength",
        "FirstBurstLength", "DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T", "DataPDUInOrder",
        "DataSequenceInOrder", "ErrorRecoveryLevel", "IFMarker", "OFMarker", "IFMarkInt", "OFMarkInt",
        "iSCSIProtocolLevel",
    ];

    /// <summary>
    /// Negotiates one operational key; returns false when the key isn't operational (the caller
    /// handles declarative and security keys). <paramref name="inLogin"/> false means a Text
    /// Request in full feature phase, where login-only keys are rejected.
    /// </summary>
    public bool TryNegotiate(string key, string value, bool inLogin, List<KeyValuePair<string, string>> response)
    {
        if (!inLogin && LoginOnlyKeys.Contains(key))
        {
            response.Add(new(key, "Reject"));
            return true;
        }
        switch (key)
        {
            case "HeaderDigest":
            case "DataDigest":
                {
                    string? chosen = ChooseDigest(value);
                    response.Add(new(key, chosen ?? "Reject"));
                    if (chosen is not null)
                    {
                        bool crc = chosen == "CRC32C";
                        if (key == "HeaderDigest") parameters.HeaderDigest = crc; else parameters.DataDigest = crc;
                    }
                    return true;
                }
            case "MaxConnections":
                return Numeric(key, value, 1, 65535, v => Math.Min(v, 1), v => parameters.MaxConnections = v, response);
            case "InitialR2T":
                // OR: we prefer No (unsolicited data allowed), so the initiator's wish decides.
                return Boolean(key, value, v => v, v => parameters.InitialR2T = v, response);
            case "ImmediateData":
                return Boolean(key, value, v => v, v => parameters.ImmediateData = v, response);
            case "MaxRecvDataSegmentLength":
                {
                    // Declarative (13.12): the initiator's limit on what we send; we declare ours.
                    if (!TryParseNumber(value, 512, 16777215, out int v))
                    {
                        response.Add(new(key, "Reject"));
                        return true;
                    }
                    parameters.InitiatorMaxRecvDataSegmentLength = v;
                    DeclareOwnMaxRecvDataSegmentLength(response);
                    return true;
                }
            case "MaxBurstLength":
                return Numeric(key, value, 512, 16777215, v => Math.Min(v, limits.MaxBurstLength), v => parameters.MaxBurstLength = v, response);
            case "FirstBurstLength":
                return Numeric(key, value, 512, 16777215, v => Math.Min(v, limits.FirstBurstLength), v => parameters.FirstBurstLength = v, response);
            case "DefaultTime2Wait":
                return Numeric(key, value, 0, 3600, v => v, v => parameters.DefaultTime2Wait = v, response);
            case "DefaultTime2Retain":
                return Numeric(key, value, 0, 3600, v => Math.Min(v, 20), v => parameters.DefaultTime2Retain = v, response);
            case "MaxOutstandingR2T":
                return Numeric(key, value, 1, 65535, v => Math.Min(v, limits.MaxOutstandingR2T), v => parameters.MaxOutstandingR2T = v, response);
            case "DataPDUInOrder":
                // OR with our Yes: the result is Yes.
                return Boolean(key, value, _ => true, v => parameters.DataPduInOrder = v, response);
            case "DataSequenceInOrder":
                return Boolean(key, value, _ => true, v => parameters.DataSequenceInOrder = v, response);
            case "ErrorRecoveryLevel":
                // This target recovers only by session (level 0).
                return Numeric(key, value, 0, 2, _ => 0, v => parameters.ErrorRecoveryLevel = v, response);
            case "IFMarker":
            case "OFMarker":
                // RFC 3720 markers, dropped by RFC 7143; AND with our No.
                response.Add(new(key, "No"));
                return true;
            case "IFMarkInt":
            case "OFMarkInt":
                response.Add(new(key, "Irrelevant"));
                return true;
            case "iSCSIProtocolLevel":
                // RFC 7144 13.1: result is the minimum; RFC 7143 is level 1.
                return Numeric(key, value, 0, 31, v => Math.Min(v, 1), _ => { }, response);
            case "TaskReporting":
                response.Add(new(key, "RFC3720"));
                return true;
            default:
                return false;
        }
    }

    /// <summary>Adds our declarative MaxRecvDataSegmentLength to a response once per login.</summary>
    public void DeclareOwnMaxRecvDataSegmentLength(List<KeyValuePair<string, string>> response)
    {
        if (_declaredOwnMrdsl) return;
        _declaredOwnMrdsl = true;
        response.Add(new("MaxRecvDataSegmentLength", limits.MaxRecvDataSegmentLength.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>Called when login ends: ties FirstBurstLength to MaxBurstLength (13.14).</summary>
    public void Complete()
    {
        if (parameters.FirstBurstLength > parameters.MaxBurstLength)
            parameters.FirstBurstLength = parameters.MaxBurstLength;
    }

    private static string? ChooseDigest(string offer)
    {
        // List negotiation (6.2.1): the first value of the offer that we support.
        foreach (var part in offer.Split(','))
        {
            if (part == "None" || part == "CRC32C") return part;
        }
        return null;
    }

    private static bool Numeric(string key, string value, int min, int max, Func<int, int> result, Action<int> apply,
        List<KeyValuePair<string, string>> response)
    {
        if (!TryParseNumber(value, min, max, out int v))
        {
            response.Add(new(key, "Reject"));
            return true;
        }
        int r = result(v);
        apply(r);
        response.Add(new(key, r.ToString(CultureInfo.InvariantCulture)));
        return true;
    }

    private static bool Boolean(string key, string value, Func<bool, bool> result, Action<bool> apply,
        List<KeyValuePair<string, string>> response)
    {
        bool v;
        if (value == "Yes") v = true;
        else if (value == "No") v = false;
        else
        {
            response.Add(new(key, "Reject"));
            return true;
        }
        bool r = result(v);
        apply(r);
        response.Add(new(key, r ? "Yes" : "No"));
        return true;
    }

    /// <summary>RFC 7143 5.1: decimal or 0x-hex numbers.</summary>
    internal static bool TryParseNumber(string s, int min, int max, out int value)
    {
        value = 0;
        long v;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (!long.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)) return false;
        }
        else if (s.Length == 0 || s.Length > 12 || !long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v)) return false;
        if (v < min || v > max) return false;
        value = (int)v;
        return true;
    }
}
