namespace Tessera.Storage;

/// <summary>A CHAP name and secret (RFC 7143 12.1.3: CHAP_N and the shared secret behind CHAP_R).</summary>
/// <param name="User">The CHAP name, 1..255 characters, no control characters.</param>
/// <param name="Secret">The shared secret, 12..255 bytes of UTF-8 text, no control characters.</param>
public sealed record ChapCredentials(string User, string Secret)
{
    /// <summary>The secret is never printed.</summary>
    public override string ToString() => $"ChapCredentials {{ User = {User}, Secret = *** }}";
}
