namespace Tessera.Iscsi.Login;

/// <summary>RFC 7143 11.13.5 Status-Class and Status-Detail, as one 16-bit value.</summary>
internal enum LoginStatus : ushort
{
    Success = 0x0000,
    InitiatorError = 0x0200,
    AuthenticationFailure = 0x0201,
    AuthorizationFailure = 0x0202,
    NotFound = 0x0203,
    TargetRemoved = 0x0204,
    UnsupportedVersion = 0x0205,
    TooManyConnections = 0x0206,
    MissingParameter = 0x0207,
    CannotIncludeInSession = 0x0208,
    SessionTypeNotSupported = 0x0209,
    SessionDoesNotExist = 0x020a,
    InvalidDuringLogin = 0x020b,
    TargetError = 0x0300,
    ServiceUnavailable = 0x0301,
    OutOfResources = 0x0302,
}

/// <summary>Login stages (RFC 7143 11.12.3, CSG/NSG).</summary>
internal enum LoginStage
{
    SecurityNegotiation = 0,
    OperationalNegotiation = 1,
    FullFeaturePhase = 3,
}
