namespace Tessera.Iscsi.Login;

/// <summary>What a connection remembers across the PDUs of its login phase (RFC 7143 6.3).</summary>
internal sealed class LoginState(ChapCredentials chap)
{
    public bool Started;
    public ulong Isid;
    public ushort Tsih;
    public ushort Cid;
    public uint InitiatorTaskTag;
    public LoginStage Stage;
    public string? InitiatorName;
    public bool IsDiscovery;
    public bool ChapRequired;
    public string? AuthMethod;
    public bool Authenticated;
    public bool TargetPortalGroupTagSent;
    public readonly ChapAuthenticator Chap = new(chap);
    public readonly List<byte> PendingText = [];
}
