using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Tessera.Scsi;

/// <summary>
/// iSCSI TransportIDs (SPC-5 7.6.4.6): PROTOCOL IDENTIFIER 5h, FORMAT CODE 00b (iSCSI name: the SCSI
/// device, every initiator port of it) or 01b (initiator port: "name,i,0x" followed by the ISID in
/// hex). ADDITIONAL LENGTH is a multiple of four and at least 20; the string is null terminated and
/// zero padded. Tessera only has iSCSI target ports, so no other protocol is accepted.
/// </summary>
internal static class TransportId
{
    public const byte IscsiProtocolIdentifier = 0x5;
    private const int MinimumAdditionalLength = 20;

    /// <summary>Encoded length of the TransportID of an initiator port name or bare iSCSI name.</summary>
    public static int Length(string initiator)
    {
        int text = Encoding.UTF8.GetByteCount(initiator) + 1; // null terminator
        int additional = Math.Max(MinimumAdditionalLength, (text + 3) & ~3);
        return 4 + additional;
    }

    /// <summary>
    /// Writes the TransportID of <paramref name="initiator"/> (format 01h when it is an initiator port
    /// name, 00h for a bare iSCSI name) and returns its length.
    /// </summary>
    public static int Write(Span<byte> destination, string initiator)
    {
        int length = Length(initiator);
        var d = destination[..length];
        d.Clear();
        bool port = initiator.Contains(NexusId.IsidSeparator, StringComparison.OrdinalIgnoreCase);
        d[0] = (byte)((port ? 0x40 : 0x00) | IscsiProtocolIdentifier);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)(length - 4));
        Encoding.UTF8.GetBytes(initiator, d[4..]);
        return length;
    }

    internal enum ParseStatus { Ok, Truncated, InvalidField }

    /// <summary>
    /// Decodes one TransportID at the start of <paramref name="data"/>. On success
    /// <paramref name="initiator"/> is the normalised initiator port name (ISID as 12 lowercase hex
    /// digits, as in <see cref="ItNexus.InitiatorPortName"/>) or bare iSCSI name, and
    /// <paramref name="length"/> the bytes it took. On <see cref="ParseStatus.InvalidField"/>,
    /// <paramref name="badByte"/> is the offset (within <paramref name="data"/>) of the bad field.
    /// </summary>
    public static ParseStatus TryParse(ReadOnlySpan<byte> data, out string initiator, out int length, out int badByte)
    {
        initiator = "";
        length = 0;
        badByte = 0;
        if (data.Length < 4) return ParseStatus.Truncated;
        int format = data[0] >> 6;
        if ((data[0] & 0x0F) != IscsiProtocolIdentifier || (data[0] & 0x30) != 0 || format > 1) return ParseStatus.InvalidField;
        int additional = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        if (additional < MinimumAdditionalLength || additional % 4 != 0) { badByte = 2; return ParseStatus.InvalidField; }
        length = 4 + additional;
        if (data.Length < length) return ParseStatus.Truncated;
        var text = data[4..length];
        int nul = text.IndexOf((byte)0);
        badByte = 4;
        if (nul <= 0) return ParseStatus.InvalidField;
        string s;
        try { s = new UTF8Encoding(false, true).GetString(text[..nul]); }
        catch (DecoderFallbackException) { return ParseStatus.InvalidField; }
        int sep = s.IndexOf(NexusId.IsidSeparator, StringComparison.OrdinalIgnoreCase);
        if (format == 0)
        {
            if (sep >= 0 || s.Contains(',')) return ParseStatus.InvalidField;
            initiator = s;
            return ParseStatus.Ok;
        }
        if (sep <= 0) return ParseStatus.InvalidField;
        var hex = s.AsSpan(sep + NexusId.IsidSeparator.Length);
        if (hex.Length is 0 or > 12 || !ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong isid))
            return ParseStatus.InvalidField;
        initiator = string.Create(CultureInfo.InvariantCulture, $"{s[..sep]}{NexusId.IsidSeparator}{isid:x12}");
        return ParseStatus.Ok;
    }

    /// <summary>The iSCSI name part of an initiator port name (or the name itself).</summary>
    public static string NameOf(string initiator)
    {
        int sep = initiator.LastIndexOf(NexusId.IsidSeparator, StringComparison.OrdinalIgnoreCase);
        return sep > 0 ? initiator[..sep] : initiator;
    }
}
