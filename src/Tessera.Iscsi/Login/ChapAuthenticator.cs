using System.Security.Cryptography;
using System.Text;

namespace Tessera.Iscsi.Login;

/// <summary>
/// The target side of CHAP (RFC 1994 with the iSCSI keys of RFC 7143 12.1.3): offer MD5,
/// challenge, check CHAP_N/CHAP_R, and answer a mutual challenge.
/// </summary>
internal sealed class ChapAuthenticator(ChapCredentials credentials)
{
    private const string Md5Algorithm = "5";
    private enum State { WaitingForAlgorithm, WaitingForResponse, Done }

    private State _state = State.WaitingForAlgorithm;
    private byte _identifier;
    private byte[] _challenge = [];

    public bool Done => _state == State.Done;

    /// <summary>
    /// Processes the CHAP keys of one Login Request; returns null on success so far (keys for
    /// the response appended), or a failure reason (authentication failed).
    /// </summary>
    public string? Step(IReadOnlyList<KeyValuePair<string, string>> keys, List<KeyValuePair<string, string>> response)
    {
        switch (_state)
        {
            case State.WaitingForAlgorithm:
                {
                    string? algorithms = Find(keys, "CHAP_A");
                    if (algorithms is null) return null; // may come in a later PDU
                    if (!algorithms.Split(',').Contains(Md5Algorithm)) return "initiator offers no CHAP algorithm we support (MD5 = 5)";
                    _identifier = (byte)RandomNumberGenerator.GetInt32(256);
                    _challenge = RandomNumberGenerator.GetBytes(16);
                    response.Add(new("CHAP_A", Md5Algorithm));
                    response.Add(new("CHAP_I", _identifier.ToString()));
                    response.Add(new("CHAP_C", "0x" + Convert.ToHexString(_challenge).ToLowerInvariant()));
                    _state = State.WaitingForResponse;
                    return null;
                }
            case State.WaitingForResponse:
                {
                    string? name = Find(keys, "CHAP_N");
                    string? resp = Find(keys, "CHAP_R");
                    if (name is null || resp is null) return "CHAP_N and CHAP_R are required";
                    if (!TryDecode(resp, out byte[] received)) return "CHAP_R is not a valid binary value";
                    byte[] expected = Response(_identifier, credentials.Secret!, _challenge);
                    if (name != credentials.User || !CryptographicOperations.FixedTimeEquals(expected, received))
                        return "CHAP name or response wrong";

                    string? mutualId = Find(keys, "CHAP_I");
                    string? mutualChallenge = Find(keys, "CHAP_C");
                    if (mutualId is not null || mutualChallenge is not null)
                    {
                        if (mutualId is null || mutualChallenge is null) return "mutual CHAP needs both CHAP_I and CHAP_C";
                        if (!credentials.MutualConfigured) return "mutual CHAP asked for but the target has no mutual secret";
                        if (!byte.TryParse(mutualId, out byte id)) return "CHAP_I is not 0..255";
                        if (!TryDecode(mutualChallenge, out byte[] challenge) || challenge.Length == 0) return "CHAP_C is not a valid binary value";
                        // RFC 7143 12.1.3: a target must refuse its own challenge reflected back.
                        if (challenge.AsSpan().SequenceEqual(_challenge)) return "mutual CHAP challenge reflects the target's";
                        response.Add(new("CHAP_N", credentials.MutualUser!));
                        response.Add(new("CHAP_R", "0x" + Convert.ToHexString(Response(id, credentials.MutualSecret!, challenge)).ToLowerInvariant()));
                    }
                    _state = State.Done;
                    return null;
                }
            default:
                return null;
        }
    }

    internal static byte[] Response(byte identifier, string secret, ReadOnlySpan<byte> challenge)
    {
        // RFC 1994 4.1: MD5(identifier || secret || challenge).
        byte[] secretBytes = Encoding.UTF8.GetBytes(secret);
        byte[] input = new byte[1 + secretBytes.Length + challenge.Length];
        input[0] = identifier;
        secretBytes.CopyTo(input, 1);
        challenge.CopyTo(input.AsSpan(1 + secretBytes.Length));
        return MD5.HashData(input);
    }

    /// <summary>RFC 7143 6.1 binary-value: 0x-hex or 0b-base64.</summary>
    internal static bool TryDecode(string value, out byte[] bytes)
    {
        bytes = [];
        try
        {
            if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                string hex = value[2..];
                if (hex.Length % 2 == 1) hex = "0" + hex;
                bytes = Convert.FromHexString(hex);
                return true;
            }
            if (value.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                bytes = Convert.FromBase64String(value[2..]);
                return true;
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }

    private static string? Find(IReadOnlyList<KeyValuePair<string, string>> keys, string key)
    {
        foreach (var kv in keys)
            if (kv.Key == key) return kv.Value;
        return null;
    }
}
