namespace Tessera.Cluster.Tests.Volume;

/// <summary>
/// The two compositions every distributed-volume behaviour test runs on: nodes calling each other
/// directly, and nodes talking the inter-node protocol over 127.0.0.1 TCP (one NodeVolumeHost each).
/// </summary>
public enum Wire
{
    Direct,
    Tcp,
}
