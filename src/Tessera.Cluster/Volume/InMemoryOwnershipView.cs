using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Ownership kept in memory. Initial owner of sub-unit u is node u mod N (every node owns an equal
/// share, whatever the stripes per sub-unit), epoch 1. <see cref="Reassign"/> bumps the epoch, as
/// a takeover recorded in the metadata store would.
/// </summary>
internal sealed class InMemoryOwnershipView : IOwnershipView
{
    private readonly int[] _owners;
    private readonly long[] _epochs;

    public InMemoryOwnershipView(VolumeLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        _owners = new int[layout.SubUnitCount];
        _epochs = new long[layout.SubUnitCount];
        for (long u = 0; u < _owners.Length; u++)
        {
            _owners[u] = (int)(u % layout.NodeCount);
            _epochs[u] = 1;
        }
    }

    public long SubUnitCount => _owners.Length;

    public NodeId Owner(long subUnit) => new(Volatile.Read(ref _owners[subUnit]));

    public long Epoch(long subUnit) => Volatile.Read(ref _epochs[subUnit]);

    /// <summary>Moves <paramref name="subUnit"/> to <paramref name="owner"/> under a new epoch.</summary>
    public void Reassign(long subUnit, NodeId owner)
    {
        lock (_owners)
        {
            Volatile.Write(ref _epochs[subUnit], _epochs[subUnit] + 1);
            Volatile.Write(ref _owners[subUnit], owner.Value);
        }
    }

    /// <summary>Every sub-unit <paramref name="from"/> owns moves to <paramref name="choose"/>(sub-unit).</summary>
    public int ReassignAll(NodeId from, Func<long, NodeId> choose)
    {
        int moved = 0;
        for (long u = 0; u < _owners.Length; u++)
        {
            if (_owners[u] == from.Value)
            {
                Reassign(u, choose(u));
                moved++;
            }
        }

        return moved;
    }
}
