namespace Tessera.Cluster.Transport.Protocol;

/// <summary>Header flag bits. Bits not defined in the link's negotiated version must be zero.</summary>
[Flags]
internal enum FrameFlags : ushort
{
    None = 0,

    /// <summary>The frame answers the request with the same request id.</summary>
    Response = 0x0001,

    /// <summary>A request that expects no response (ordering tokens, notifications).</summary>
    OneWay = 0x0002,

    /// <summary>Every bit version 1.0 defines.</summary>
    Known = Response | OneWay,
}
