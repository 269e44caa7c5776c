using System.Text.RegularExpressions;

namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// Parses the verbose (default) CUnit 2.1 console output of libiscsi's iscsi-test-cu.
/// <para>
/// The layout: <c>Suite: NAME</c>; <c>  Test: NAME ...</c> followed, on the same line or the
/// next ones, by whatever the test prints, then CUnit's verdict <c>passed</c> or <c>FAILED</c>
/// (at the start of a line, or right after the dots); after FAILED the numbered assertion lines
/// <c>    1. file.c:LINE  - CU_ASSERT...</c>. Output printed after a verdict belongs to suite
/// teardown/setup, not to the test, so it never changes the test's outcome.
/// </para>
/// <para>
/// Outcome: FAILED is a failure; otherwise any <c>[SKIPPED]</c> the test printed makes it a
/// skip (libiscsi reports "not implemented"/"not applicable" that way and CUnit still says
/// passed); otherwise passed. A failure is never hidden by a skip message. A test with no
/// verdict (the run died in it) is a failure.
/// </para>
/// </summary>
internal static partial class CunitVerboseParser
{
    private const string Passed = "passed";
    private const string Failed = "FAILED";
    private const string SkippedMarker = "[SKIPPED]";

    public static CunitRun Parse(string output)
    {
        var tests = new List<CunitTestResult>();
        var preamble = new List<string>();
        string suite = "(no suite)";
        OpenTest? open = null;
        var completed = false;

        foreach (var rawLine in output.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var suiteMatch = SuiteLine().Match(line);
            if (suiteMatch.Success)
            {
                Close();
                suite = suiteMatch.Groups[1].Value.Trim();
                continue;
            }

            var testMatch = TestLine().Match(line);
            if (testMatch.Success)
            {
                Close();
                open = new OpenTest(suite, testMatch.Groups[1].Value.Trim());
                open.Feed(testMatch.Groups[2].Value);
                continue;
            }

            if (line.StartsWith("Run Summary:", StringComparison.Ordinal))
            {
                Close();
                completed = true;
                break;
            }

            if (open is not null)
            {
                open.Feed(line);
            }
            else if (tests.Count == 0 && line.Trim().Length > 0)
            {
                preamble.Add(line.Trim());
            }
        }

        Close();
        return new CunitRun(tests, completed, preamble.Count == 0 ? null : string.Join('\n', preamble));

        void Close()
        {
            if (open is not null)
            {
                tests.Add(open.ToResult());
                open = null;
            }
        }
    }

    [GeneratedRegex(@"^Suite: (.+)$")]
    private static partial Regex SuiteLine();

    [GeneratedRegex(@"^  Test: (.+?) \.\.\.(.*)$")]
    private static partial Regex TestLine();

    [GeneratedRegex(@"^\s+\d+\. \S+:\d+\s+- ")]
    private static partial Regex AssertionLine();

    private sealed class OpenTest(string suite, string test)
    {
        private readonly List<string> messages = [];
        private readonly List<string> assertions = [];
        private readonly List<string> trailing = [];
        private bool? failed;
        private bool skipped;

        public void Feed(string text)
        {
            if (failed is null)
            {
                // The verdict is printed right after the test's own output; libiscsi indents
                // everything it prints, so a verdict is at column 0 or right after the dots.
                var verdict = text.StartsWith(Passed, StringComparison.Ordinal) ? Passed
                    : text.StartsWith(Failed, StringComparison.Ordinal) ? Failed
                    : null;
                if (verdict is not null)
                {
                    failed = verdict == Failed;
                    AddTrailing(text[verdict.Length..]);
                    return;
                }

                skipped |= text.Contains(SkippedMarker, StringComparison.Ordinal);
                if (text.Trim().Length > 0)
                {
                    messages.Add(text.Trim());
                }

                return;
            }

            if (failed == true && AssertionLine().IsMatch(text))
            {
                // Teardown output can continue on the assertion's line ("...(ret,0)    [SKIPPED] ...").
                var glued = text.IndexOf("    [", StringComparison.Ordinal);
                assertions.Add((glued > 0 ? text[..glued] : text).Trim());
                if (glued > 0)
                {
                    AddTrailing(text[glued..]);
                }
            }
            else
            {
                AddTrailing(text);
            }
        }

        public CunitTestResult ToResult()
        {
            if (failed is null)
            {
                messages.Add("(no CUnit verdict: iscsi-test-cu stopped during this test)");
            }

            var outcome = failed != false ? CunitOutcome.Failed : skipped ? CunitOutcome.Skipped : CunitOutcome.Passed;
            return new CunitTestResult(suite, test, outcome, messages, assertions, trailing);
        }

        private void AddTrailing(string text)
        {
            if (text.Trim().Length > 0)
            {
                trailing.Add(text.Trim());
            }
        }
    }
}
