namespace Tessera.Cluster.Ordering;

/// <summary>
/// Receives this node's parts of requests in the node's final order — the order every other
/// owner of the same requests uses too. Called synchronously from the node's methods.
/// </summary>
internal interface IApplySink
{
    void Apply(RequestId request);
}
