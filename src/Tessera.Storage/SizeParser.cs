using System.Globalization;

namespace Tessera.Storage;

/// <summary>
/// Parses human sizes: "4096", "4096B", "512KiB", "512MiB", "1GiB", "2TiB" and the short forms
/// "512K", "10G", "1T" are binary (powers of 1024, as qemu-img, dd and LVM read them);
/// "1KB", "10GB", "1TB" are decimal (powers of 1000, as disk vendors and dd read them).
/// Units are case-insensitive; one space may separate number and unit; a fraction is allowed
/// when the result is a whole number of bytes ("1.5GiB").
/// </summary>
public static class SizeParser
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        // Longest suffixes first so "GiB" is not read as "B".
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40), ("PiB", 1L << 50),
        ("KB", 1_000L), ("MB", 1_000_000L), ("GB", 1_000_000_000L), ("TB", 1_000_000_000_000L), ("PB", 1_000_000_000_000_000L),
        ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("T", 1L << 40), ("P", 1L << 50),
        ("B", 1L),
    ];

    /// <summary>Parses <paramref name="text"/> into bytes or throws <see cref="FormatException"/> naming the bad text.</summary>
    public static long Parse(string text)
    {
        if (!TryParse(text, out long bytes, out string? error))
        {
            throw new FormatException(error);
        }
        return bytes;
    }

    /// <summary>Parses <paramref name="text"/> into bytes; on failure <paramref name="error"/> is a one-line message.</summary>
    public static bool TryParse(string? text, out long bytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        bytes = 0;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "invalid size '': expected a number with an optional unit, e.g. 4096, 512MiB, 10G or 1GB";
            return false;
        }

        string trimmed = text.Trim();
        long factor = 1;
        string number = trimmed;
        foreach (var (suffix, unitFactor) in Units)
        {
            if (trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = unitFactor;
                number = trimmed[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (number.Length == 0 || !IsPlainDecimal(number) ||
            !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            error = $"invalid size '{text}': expected a number with an optional unit, e.g. 4096, 512MiB, 10G or 1GB";
            return false;
        }

        decimal total;
        try
        {
            total = value * factor;
        }
        catch (OverflowException)
        {
            error = $"invalid size '{text}': too large";
            return false;
        }

        if (total > long.MaxValue)
        {
            error = $"invalid size '{text}': too large";
            return false;
        }
        if (total != decimal.Truncate(total))
        {
            error = $"invalid size '{text}': not a whole number of bytes";
            return false;
        }
        if (total <= 0)
        {
            error = $"invalid size '{text}': must be greater than zero";
            return false;
        }

        bytes = (long)total;
        return true;
    }

    /// <summary>Formats bytes with the largest binary unit that divides them exactly ("1GiB", "1536MiB", "4095B").</summary>
    public static string Format(long bytes)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        int unit = 0;
        while (unit < names.Length - 1 && bytes != 0 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            unit++;
        }
        return bytes.ToString(CultureInfo.InvariantCulture) + names[unit];
    }

    // Digits with at most one decimal point; rejects signs, exponents, thousands separators and hex.
    private static bool IsPlainDecimal(string s)
    {
        bool dot = false;
        bool digit = false;
        foreach (char c in s)
        {
            if (c is >= '0' and <= '9')
            {
                digit = true;
            }
            else if (c == '.' && !dot)
            {
                dot = true;
            }
            else
            {
                return false;
            }
        }
        return digit;
    }
}
