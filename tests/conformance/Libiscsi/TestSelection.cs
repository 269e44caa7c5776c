using System.Text;
using System.Text.RegularExpressions;

namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// The <c>--test</c> syntax of libiscsi 1.19's iscsi-test-cu: a comma-separated list of
/// FAMILY[.SUITE[.TEST]] fnmatch patterns (a missing part matches everything).
/// <para>
/// Two quirks shape <see cref="ToFilter"/>: the tool splits the list at the <em>last</em> comma
/// first, so patterns are registered — and run — in reverse list order; and every pattern that
/// matches registers its own CUnit suite (setup and teardown run again). So a whole suite is named
/// by one SUITE pattern, only a partly selected suite by its tests, and the list is reversed.
/// </para>
/// </summary>
internal static class TestSelection
{
    /// <summary>True if <paramref name="test"/> matches any pattern of a <c>--test</c> list.</summary>
    public static bool Matches(string filter, LibiscsiTestName test) =>
        filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(pattern => MatchesPattern(pattern, test));

    /// <summary>
    /// The <c>--test</c> value that runs exactly <paramref name="selected"/> in the order of
    /// <paramref name="all"/> (the <c>--list</c> order); null if nothing is selected.
    /// </summary>
    public static string? ToFilter(IReadOnlyList<LibiscsiTestName> all, IEnumerable<LibiscsiTestName> selected)
    {
        var chosen = selected.ToHashSet();
        var patterns = new List<string>();
        foreach (var suite in all.GroupBy(t => (t.Family, t.Suite)))
        {
            var tests = suite.ToList();
            var picked = tests.Where(chosen.Contains).ToList();
            if (picked.Count == tests.Count)
            {
                patterns.Add($"{suite.Key.Family}.{suite.Key.Suite}");
            }
            else
            {
                patterns.AddRange(picked.Select(t => t.ToString()));
            }
        }

        if (patterns.Count == 0)
        {
            return null;
        }

        patterns.Reverse();
        return string.Join(',', patterns);
    }

    private static bool MatchesPattern(string pattern, LibiscsiTestName test)
    {
        // Like iscsi-test-cu: the first dot ends FAMILY, the next one SUITE; TEST is the rest.
        var parts = pattern.Split('.', 3);
        return Glob(parts[0], test.Family) &&
               (parts.Length < 2 || Glob(parts[1], test.Suite)) &&
               (parts.Length < 3 || Glob(parts[2], test.Test));
    }

    /// <summary>fnmatch(3) without flags: <c>*</c>, <c>?</c>, <c>[...]</c> and <c>[!...]</c>.</summary>
    private static bool Glob(string pattern, string text)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            var close = c == '[' ? pattern.IndexOf(']', i + 2) : -1;
            if (c == '*')
            {
                regex.Append(".*");
            }
            else if (c == '?')
            {
                regex.Append('.');
            }
            else if (close > 0)
            {
                var set = pattern[(i + 1)..close];
                regex.Append('[').Append(set.StartsWith('!') ? "^" + Escape(set[1..]) : Escape(set)).Append(']');
                i = close;
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return Regex.IsMatch(text, regex.Append('$').ToString());

        static string Escape(string set) => set.Replace(@"\", @"\\").Replace("^", @"\^").Replace("[", @"\[");
    }
}
