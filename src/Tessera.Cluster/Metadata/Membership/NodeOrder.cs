using System.Globalization;

namespace Tessera.Cluster.Metadata.Membership;

/// <summary>
/// The one order of node ids used wherever ids become indexes (a new volume's placement, and so
/// the token-ordering rank): ids that are decimal numbers compare as numbers ("2" before "10"),
/// and come before other ids, which compare ordinally. `tessera up --nodes N` names its nodes
/// 1..N, so node index i is node "i+1" there.
/// </summary>
internal sealed class NodeOrder : IComparer<string>
{
    public static readonly NodeOrder Instance = new();

    private NodeOrder()
    {
    }

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        bool xn = ulong.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out ulong xv);
        bool yn = ulong.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out ulong yv);
        if (xn && yn)
        {
            int byValue = xv.CompareTo(yv);
            return byValue != 0 ? byValue : string.CompareOrdinal(x, y); // "01" vs "1"
        }

        if (xn != yn)
        {
            return xn ? -1 : 1;
        }

        return string.CompareOrdinal(x, y);
    }
}
