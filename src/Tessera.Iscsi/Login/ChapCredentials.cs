namespace Tessera.Iscsi.Login;

/// <summary>
/// CHAP secrets of the target (RFC 7143 12.1.3). <see cref="User"/>/<see cref="Secret"/> are what
/// initiators must prove (one-way); <see cref="MutualUser"/>/<see cref="MutualSecret"/> are what
/// this target proves back when an initiator asks for mutual CHAP.
/// </summary>
public sealed record ChapCredentials
{
    public string? User { get; init; }
    public string? Secret { get; init; }
    public string? MutualUser { get; init; }
    public string? MutualSecret { get; init; }
    /// <summary>When true, discovery sessions must authenticate too.</summary>
    public bool RequireForDiscovery { get; init; }

    public bool Required => !string.IsNullOrEmpty(User) && !string.IsNullOrEmpty(Secret);
    public bool MutualConfigured => !string.IsNullOrEmpty(MutualUser) && !string.IsNullOrEmpty(MutualSecret);
}
