namespace Tessera.Conformance.Libiscsi;

/// <summary>One test as <c>iscsi-test-cu --list</c> names it: FAMILY.SUITE.TEST (e.g. ALL.Sanitize.Reset).</summary>
internal readonly record struct LibiscsiTestName(string Family, string Suite, string Test)
{
    /// <summary>SUITE.TEST, the name CUnit prints and the reports use.</summary>
    public string SuiteTest => $"{Suite}.{Test}";

    public override string ToString() => $"{Family}.{Suite}.{Test}";

    /// <summary>The tests of a <c>--list</c> output, in its order (family, suite and bare-suite lines are skipped).</summary>
    public static IReadOnlyList<LibiscsiTestName> ParseList(string output) =>
        output.Split('\n')
            .Select(line => line.Trim().Split('.'))
            .Where(parts => parts.Length == 3 && parts.All(p => p.Length > 0 && !p.Any(char.IsWhiteSpace)))
            .Select(parts => new LibiscsiTestName(parts[0], parts[1], parts[2]))
            .ToList();
}
