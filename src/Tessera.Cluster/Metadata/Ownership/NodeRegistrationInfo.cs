using Tessera.Cluster.Metadata.Membership;

namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>A node incarnation: its id and the create revision of its membership key.</summary>
internal readonly record struct NodeRegistrationInfo(string NodeId, long CreateRevision)
{
    public static implicit operator NodeRegistrationInfo(NodeRegistration registration) => new(registration.NodeId, registration.CreateRevision);
}
