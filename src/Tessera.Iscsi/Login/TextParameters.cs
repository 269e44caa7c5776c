using System.Text;

namespace Tessera.Iscsi.Login;

/// <summary>
/// The key=value text format of Login and Text PDUs (RFC 7143 6.1): UTF-8 pairs, each ended by a
/// NUL byte. Only login and discovery use it, so plain strings are fine here.
/// </summary>
internal static class TextParameters
{
    public const int MaxKeyLength = 63;

    /// <summary>Parses pairs; returns false (with a reason) on a malformed segment.</summary>
    public static bool TryParse(ReadOnlySpan<byte> data, List<KeyValuePair<string, string>> into, out string? error)
    {
        error = null;
        while (!data.IsEmpty)
        {
            int end = data.IndexOf((byte)0);
            // RFC 7143 6.1: every pair is NUL terminated; tolerate a missing last NUL like most targets.
            ReadOnlySpan<byte> pair = end < 0 ? data : data[..end];
            data = end < 0 ? default : data[(end + 1)..];
            if (pair.IsEmpty) continue; // padding NULs
            int eq = pair.IndexOf((byte)'=');
            if (eq <= 0)
            {
                error = "text pair without key=value";
                return false;
            }
            if (eq > MaxKeyLength)
            {
                error = "key longer than 63 bytes";
                return false;
            }
            string key = Encoding.UTF8.GetString(pair[..eq]);
            string value = Encoding.UTF8.GetString(pair[(eq + 1)..]);
            foreach (var kv in into)
            {
                if (kv.Key == key)
                {
                    error = $"key {key} sent twice";
                    return false;
                }
            }
            into.Add(new(key, value));
        }
        return true;
    }

    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var sb = new StringBuilder();
        foreach (var (k, v) in pairs) sb.Append(k).Append('=').Append(v).Append('\0');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
