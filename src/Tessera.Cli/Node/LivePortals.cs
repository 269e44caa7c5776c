using System.Collections;
using System.Collections.Immutable;
using Tessera.Iscsi;

namespace Tessera.Cli.Node;

/// <summary>
/// The portals SendTargets reports (RFC 7143 12.4, TargetAddress per portal group): every live
/// node's, kept current from membership and read whole at each SendTargets, so a host discovering
/// through any node learns every path.
/// </summary>
internal sealed class LivePortals : IReadOnlyList<PortalAddress>
{
    private ImmutableSortedDictionary<string, PortalAddress> _byNode = ImmutableSortedDictionary.Create<string, PortalAddress>(StringComparer.Ordinal);

    public void Put(string node, PortalAddress portal) => ImmutableInterlocked.Update(ref _byNode, d => d.SetItem(node, portal));

    public void Remove(string node) => ImmutableInterlocked.Update(ref _byNode, d => d.Remove(node));

    private ImmutableArray<PortalAddress> Snapshot => [.. Volatile.Read(ref _byNode).Values.OrderBy(p => p.PortalGroupTag)];

    public PortalAddress this[int index] => Snapshot[index];

    public int Count => Volatile.Read(ref _byNode).Count;

    public IEnumerator<PortalAddress> GetEnumerator() => ((IEnumerable<PortalAddress>)Snapshot).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
