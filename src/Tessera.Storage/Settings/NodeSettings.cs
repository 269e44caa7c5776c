using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Tessera.Storage;

/// <summary>
/// A node's settings, kept as <c>node.json</c> in its data directory beside the catalog:
/// identity (node id, target IQN), the portal it listens on, and CHAP credentials.
/// Written atomically and durably, readable only by the owner (it holds secrets).
/// </summary>
public sealed partial class NodeSettings
{
    /// <summary>File name inside the data directory.</summary>
    public const string FileName = "node.json";

    /// <summary>Target name used when no cluster id is given.</summary>
    public const string DefaultTargetIqn = "iqn.2026-11.io.tessera:target";

    /// <summary>Default portal: loopback only, the IANA iSCSI port.</summary>
    public const string DefaultPortal = "127.0.0.1:3260";

    /// <summary>iSCSI well-known port (RFC 7143 13).</summary>
    public const int DefaultPort = 3260;

    /// <summary>Shortest CHAP secret accepted: 96 bits, the RFC 7143 security guidance for CHAP secrets without IPsec.</summary>
    public const int MinChapSecretBytes = 12;

    /// <summary>Longest CHAP secret or name accepted.</summary>
    public const int MaxChapBytes = 255;

    // RFC 7143 4.2.7: iSCSI names are at most 223 bytes of UTF-8.
    private const int MaxIscsiNameBytes = 223;

    /// <summary>Stable identity of this node (generated on first save).</summary>
    public string NodeId { get; set; } = Guid.NewGuid().ToString("N")[..12];

    /// <summary>The target's iSCSI name; LUNs of every volume are served under it.</summary>
    public string TargetIqn { get; set; } = DefaultTargetIqn;

    /// <summary>Listening portal, "HOST:PORT" (IPv6 as "[ADDR]:PORT").</summary>
    public string Portal { get; set; } = DefaultPortal;

    /// <summary>
    /// One-way CHAP: when set, every normal session must authenticate with these credentials
    /// (AuthMethod=CHAP only); when null, sessions need no authentication (AuthMethod=None).
    /// </summary>
    public ChapCredentials? Chap { get; set; }

    /// <summary>
    /// Nodes `tessera up` runs over this data directory: 1 (volumes are node-local files) or N ≥ 6
    /// (volumes are striped over N chunk stores). Fixed by the first start: the layout depends on it.
    /// Null in a directory no `up` has started yet.
    /// </summary>
    public int? Nodes { get; set; }

    /// <summary>When true, discovery sessions must authenticate with <see cref="Chap"/> too.</summary>
    public bool DiscoveryChap { get; set; }

    /// <summary>
    /// Mutual CHAP: the target's own credentials, sent when the initiator challenges the target
    /// (CHAP_I/CHAP_C from the initiator). Requires <see cref="Chap"/>.
    /// </summary>
    public ChapCredentials? MutualChap { get; set; }

    /// <summary>The target IQN for a cluster: <c>iqn.2026-11.io.tessera:&lt;cluster id&gt;</c>.</summary>
    public static string TargetIqnForCluster(string clusterId)
    {
        string iqn = "iqn.2026-11.io.tessera:" + clusterId.ToLowerInvariant();
        if (ValidateIscsiName(iqn) is { } error)
        {
            throw new StorageException($"invalid cluster id '{clusterId}': {error}");
        }
        return iqn;
    }

    /// <summary>Path of the settings file in <paramref name="dataDirectory"/>.</summary>
    public static string PathIn(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), FileName);

    /// <summary>Loads the settings of <paramref name="dataDirectory"/>; defaults (not saved) when the file does not exist.</summary>
    public static NodeSettings Load(string dataDirectory)
    {
        string path = PathIn(dataDirectory);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new NodeSettings();
        }

        NodeSettings? settings;
        try
        {
            settings = JsonSerializer.Deserialize(bytes, StorageJsonContext.Default.NodeSettings);
        }
        catch (JsonException ex)
        {
            throw new StorageException($"node settings '{path}' are unreadable: {ex.Message}", ex);
        }
        if (settings is null)
        {
            throw new StorageException($"node settings '{path}' are unreadable: the file holds JSON null");
        }
        try
        {
            settings.Validate();
        }
        catch (StorageException ex)
        {
            throw new StorageException($"node settings '{path}' are invalid: {ex.Message}", ex);
        }
        return settings;
    }

    /// <summary>Loads the settings, creating and saving defaults on first use so the node id stays stable.</summary>
    public static NodeSettings LoadOrCreate(string dataDirectory)
    {
        if (File.Exists(PathIn(dataDirectory)))
        {
            return Load(dataDirectory);
        }
        var settings = new NodeSettings();
        settings.Save(dataDirectory);
        return settings;
    }

    /// <summary>Validates and writes the settings atomically (temp file, fsync, rename, directory fsync), mode 0600.</summary>
    public void Save(string dataDirectory)
    {
        Validate();
        string path = PathIn(dataDirectory);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(this, StorageJsonContext.Default.NodeSettings);
            AtomicFile.CleanTemporaries(path);
            AtomicFile.Write(path, json, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot write node settings '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>Throws <see cref="StorageException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrEmpty(NodeId) || NodeId.Length > 64 || !NodeId.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new StorageException($"invalid node id '{NodeId}': must be 1 to 64 characters of letters, digits, '.', '_' and '-'");
        }
        if (ValidateIscsiName(TargetIqn) is { } nameError)
        {
            throw new StorageException($"invalid target name '{TargetIqn}': {nameError}");
        }
        if (!TryParsePortal(Portal, out _, out _, out string? portalError))
        {
            throw new StorageException(portalError);
        }
        if (Chap is not null)
        {
            ValidateChap("CHAP", Chap);
        }
        if (MutualChap is not null)
        {
            if (Chap is null)
            {
                throw new StorageException("mutual CHAP needs one-way CHAP credentials too (the initiator authenticates first)");
            }
            ValidateChap("mutual CHAP", MutualChap);
            // RFC 7143 security considerations: a secret used to authenticate initiators must not also authenticate a target.
            if (MutualChap.Secret == Chap.Secret)
            {
                throw new StorageException("mutual CHAP secret must differ from the one-way CHAP secret");
            }
        }
        if (Nodes is { } nodes && nodes < 1)
        {
            throw new StorageException($"invalid node count {nodes}: must be at least 1");
        }
        if (DiscoveryChap && Chap is null)
        {
            throw new StorageException("discovery CHAP is enabled but no CHAP credentials are set");
        }
    }

    /// <summary>Parses "HOST:PORT", "[IPV6]:PORT" or "HOST" (port 3260).</summary>
    public static bool TryParsePortal(string? text, out string host, out int port, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        host = string.Empty;
        port = DefaultPort;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "invalid portal '': expected HOST:PORT, e.g. 127.0.0.1:3260";
            return false;
        }

        string hostPart = text;
        string? portPart = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0)
            {
                error = $"invalid portal '{text}': missing ']' after the IPv6 address";
                return false;
            }
            hostPart = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = $"invalid portal '{text}': expected ':PORT' after ']'";
                    return false;
                }
                portPart = rest[1..];
            }
            if (!IPAddress.TryParse(hostPart, out IPAddress? v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"invalid portal '{text}': '{hostPart}' is not an IPv6 address";
                return false;
            }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon >= 0)
            {
                if (text.IndexOf(':') != colon)
                {
                    error = $"invalid portal '{text}': write an IPv6 address in brackets, e.g. [::1]:3260";
                    return false;
                }
                hostPart = text[..colon];
                portPart = text[(colon + 1)..];
            }
            if (hostPart.Length == 0 || hostPart.Length > 253 || !HostNamePattern().IsMatch(hostPart))
            {
                error = $"invalid portal '{text}': '{hostPart}' is not an IPv4 address or host name";
                return false;
            }
        }

        if (portPart is not null && (!int.TryParse(portPart, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = $"invalid portal '{text}': port '{portPart}' is not a number from 1 to 65535";
            port = DefaultPort;
            return false;
        }
        host = hostPart;
        return true;
    }

    /// <summary>RFC 7143 4.2.7: "iqn.", "eui." or "naa." names; returns null when valid, else why not.</summary>
    internal static string? ValidateIscsiName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "an iSCSI name cannot be empty";
        }
        if (Encoding.UTF8.GetByteCount(name) > MaxIscsiNameBytes)
        {
            return $"longer than {MaxIscsiNameBytes} bytes";
        }
        if (name.StartsWith("iqn.", StringComparison.Ordinal))
        {
            return IqnPattern().IsMatch(name)
                ? null
                : "expected iqn.YYYY-MM.reversed.domain[:identifier] in lower case (letters, digits, '-', '.', ':')";
        }
        if (name.StartsWith("eui.", StringComparison.Ordinal))
        {
            return EuiPattern().IsMatch(name) ? null : "expected eui. followed by 16 upper-case hex digits";
        }
        if (name.StartsWith("naa.", StringComparison.Ordinal))
        {
            return NaaPattern().IsMatch(name) ? null : "expected naa. followed by 16 or 32 upper-case hex digits";
        }
        return "must start with 'iqn.', 'eui.' or 'naa.'";
    }

    private static void ValidateChap(string what, ChapCredentials credentials)
    {
        if (string.IsNullOrEmpty(credentials.User) || Encoding.UTF8.GetByteCount(credentials.User) > MaxChapBytes || credentials.User.Any(char.IsControl))
        {
            throw new StorageException($"invalid {what} user '{credentials.User}': must be 1 to {MaxChapBytes} bytes without control characters");
        }
        int secretBytes = credentials.Secret is null ? 0 : Encoding.UTF8.GetByteCount(credentials.Secret);
        if (secretBytes < MinChapSecretBytes || secretBytes > MaxChapBytes)
        {
            throw new StorageException($"invalid {what} secret for user '{credentials.User}': {secretBytes} bytes, must be {MinChapSecretBytes} to {MaxChapBytes} (Windows initiators accept at most 16)");
        }
        if (credentials.Secret!.Any(char.IsControl))
        {
            throw new StorageException($"invalid {what} secret for user '{credentials.User}': control characters are not allowed");
        }
    }

    [GeneratedRegex(@"^iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?$")]
    private static partial Regex IqnPattern();

    [GeneratedRegex(@"^eui\.[0-9A-F]{16}$")]
    private static partial Regex EuiPattern();

    [GeneratedRegex(@"^naa\.([0-9A-F]{16}|[0-9A-F]{32})$")]
    private static partial Regex NaaPattern();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")]
    private static partial Regex HostNamePattern();
}
