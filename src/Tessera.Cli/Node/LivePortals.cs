using System.Collections;
using System.Collections.Immutable;
using Tessera.Iscsi;

namespace Tessera.Cli.Node;

/// <summary>
/// The portals SendTargets reports (RFC 7143 12.4, TargetAddress per portal group): every live
/// node's, kept current from membership. The ordered list is rebuilt on each (rare) membership change
/// and read as one snapshot, so a SendTargets never sees a half-updated list.
/// </summary>
internal sealed class LivePortals : IReadOnlyList<PortalAddress>
{
    private readonly Dictionary<string, PortalAddress> _byNode = new(StringComparer.Ordinal);
    private ImmutableArray<PortalAddress> _ordered = [];

    public void Put(string node, PortalAddress portal) => Update(d => d[node] = portal);

    public void Remove(string node) => Update(d => d.Remove(node));

    private void Update(Action<Dictionary<string, PortalAddress>> change)
    {
        lock (_byNode)
        {
            change(_byNode);
            ImmutableInterlocked.InterlockedExchange(ref _ordered, [.. _byNode.Values.OrderBy(p => p.PortalGroupTag)]);
        }
    }

    public PortalAddress this[int index] => _ordered[index];

    public int Count => _ordered.Length;

    public IEnumerator<PortalAddress> GetEnumerator() => ((IEnumerable<PortalAddress>)_ordered).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
