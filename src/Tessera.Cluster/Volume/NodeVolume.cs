namespace Tessera.Cluster.Volume;

/// <summary>One volume as one node of a <see cref="NodeVolumeHost"/> serves it: its owner role and its portal view.</summary>
internal sealed class NodeVolume(VolumeLayout layout, IOwnershipView ownership, SubUnitOwner owner, DistributedVolume view, VolumeTokenTransport tokens)
{
    public VolumeLayout Layout { get; } = layout;

    public IOwnershipView Ownership { get; } = ownership;

    /// <summary>Executes the parts of the sub-units this node owns.</summary>
    public SubUnitOwner Owner { get; } = owner;

    /// <summary>This node's portal view: the block store its iSCSI portal serves the LU through.</summary>
    public DistributedVolume View { get; } = view;

    public VolumeTokenTransport Tokens { get; } = tokens;
}
