using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Tessera.Scsi;

/// <summary>
/// One set of mode pages (current or saved) as their SPC-5 7.5 byte images, keyed by page code.
/// Immutable and JSON-friendly; the few bits the I/O path needs (WCE, SWP, D_SENSE, TAS) are decoded
/// once when the set is built, so reading them is a field read.
/// </summary>
public sealed record ModePageSet
{
    private ImmutableSortedDictionary<byte, ImmutableArray<byte>> _pages = ImmutableSortedDictionary<byte, ImmutableArray<byte>>.Empty;
    private bool _writeCacheEnabled, _softwareWriteProtect, _descriptorSense, _taskAbortedStatus;

    /// <summary>The factory defaults of every supported page (PC = 10b).</summary>
    public static ModePageSet Default { get; } = new() { Pages = ModePages.DefaultImages() };

    /// <summary>Page images (page code, page length, parameters), PS bit clear.</summary>
    public ImmutableSortedDictionary<byte, ImmutableArray<byte>> Pages
    {
        get => _pages;
        init
        {
            _pages = value;
            var caching = Page(ModePages.CachingCode);
            var control = Page(ModePages.ControlCode);
            _writeCacheEnabled = caching.Length > 2 && (caching[2] & 0x04) != 0;     // SBC-4 6.5.5 WCE
            _descriptorSense = control.Length > 2 && (control[2] & 0x04) != 0;       // SPC-5 7.5.10 D_SENSE
            _softwareWriteProtect = control.Length > 4 && (control[4] & 0x08) != 0;  // SPC-5 7.5.10 SWP
            _taskAbortedStatus = control.Length > 5 && (control[5] & 0x40) != 0;     // SPC-5 7.5.10 TAS
        }
    }

    /// <summary>Caching page WCE: writes may complete before they are durable.</summary>
    [JsonIgnore] public bool WriteCacheEnabled => _writeCacheEnabled;

    /// <summary>Control page SWP: the LU is write-protected.</summary>
    [JsonIgnore] public bool SoftwareWriteProtect => _softwareWriteProtect;

    /// <summary>Control page D_SENSE: sense data in descriptor format.</summary>
    [JsonIgnore] public bool DescriptorSense => _descriptorSense;

    /// <summary>Control page TAS: tasks aborted by another I_T nexus end with TASK ABORTED status.</summary>
    [JsonIgnore] public bool TaskAbortedStatus => _taskAbortedStatus;

    /// <summary>The image of one page, or empty when the page is unknown.</summary>
    public ReadOnlySpan<byte> Page(byte pageCode) =>
        _pages.TryGetValue(pageCode, out var image) ? image.AsSpan() : default;

    /// <summary>Returns a copy with one page image replaced.</summary>
    public ModePageSet WithPage(byte pageCode, ImmutableArray<byte> image) => this with { Pages = _pages.SetItem(pageCode, image) };

    public bool Equals(ModePageSet? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other._pages.Count != _pages.Count) return false;
        foreach (var (code, image) in _pages)
            if (!other._pages.TryGetValue(code, out var o) || !o.AsSpan().SequenceEqual(image.AsSpan())) return false;
        return true;
    }

    public override int GetHashCode() => _pages.Count;
}
