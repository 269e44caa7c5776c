using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>
/// The mode pages Tessera implements (SPC-5 7.5, SBC-4 6.5): their default images and which bits
/// an application client may change. MODE SENSE and MODE SELECT are generic over this table; a new
/// page is one more <see cref="ModePageDefinition"/>.
/// </summary>
internal static class ModePages
{
    public const byte CachingCode = 0x08;
    public const byte ControlCode = 0x0A;
    public const byte InformationalExceptionsCode = 0x1C;
    public const byte AllPages = 0x3F;

    // SBC-4 6.5.5 Caching mode page: WCE=1 because the store acknowledges writes before fsync
    // unless FUA is set; clearing WCE makes every write FUA.
    private static readonly ModePageDefinition Caching = new(CachingCode, "Caching",
        Default: [CachingCode, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        Changeable: [0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    // SPC-5 7.5.10 Control mode page: TST=000b (one task set), QUEUE ALGORITHM MODIFIER=1
    // (unrestricted reordering: commands run concurrently), QErr=00b, TAS=0.
    // D_SENSE and SWP are changeable.
    private static readonly ModePageDefinition Control = new(ControlCode, "Control",
        Default: [ControlCode, 0x0A, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0, 0, 0],
        Changeable: [0, 0, 0x04, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0]);

    // SPC-5 7.5.12 Informational Exceptions Control mode page: DEXCPT=1 (Tessera never raises
    // informational exceptions); DEXCPT, MRIE, INTERVAL TIMER and REPORT COUNT may be set.
    private static readonly ModePageDefinition InformationalExceptions = new(InformationalExceptionsCode, "Informational Exceptions Control",
        Default: [InformationalExceptionsCode, 0x0A, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0, 0],
        Changeable: [0, 0, 0x08, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        Validate: ValidateInformationalExceptions);

    /// <summary>Every page, ascending page code (the order MODE SENSE returns them in, SPC-5 6.13).</summary>
    public static readonly ModePageDefinition[] All = [Caching, Control, InformationalExceptions];

    public static ModePageDefinition? Find(byte pageCode)
    {
        foreach (var p in All)
            if (p.PageCode == pageCode) return p;
        return null;
    }

    public static ImmutableSortedDictionary<byte, ImmutableArray<byte>> DefaultImages()
    {
        var b = ImmutableSortedDictionary.CreateBuilder<byte, ImmutableArray<byte>>();
        foreach (var p in All) b.Add(p.PageCode, [.. p.Default]);
        return b.ToImmutable();
    }

    // MRIE 7h-Bh are reserved (SPC-5 Table 447); returns the offending byte or -1.
    private static int ValidateInformationalExceptions(ReadOnlySpan<byte> page)
    {
        int mrie = page[3] & 0x0F;
        return mrie is >= 0x7 and <= 0xB ? 3 : -1;
    }
}

/// <summary>One mode page: code, default image (PS clear) and changeable-bit mask (PC = 01b).</summary>
internal sealed record ModePageDefinition(byte PageCode, string Name, byte[] Default, byte[] Changeable, ModePageDefinition.Validator? Validate = null)
{
    /// <summary>Page-specific check of a proposed image; returns the offending byte offset or -1.</summary>
    public delegate int Validator(ReadOnlySpan<byte> page);

    public int Length => Default.Length;
}
