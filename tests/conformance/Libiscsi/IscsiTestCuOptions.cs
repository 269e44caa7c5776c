namespace Tessera.Conformance.Libiscsi;

/// <summary>
/// One invocation of libiscsi's <c>iscsi-test-cu</c> (libiscsi 1.19). With two URLs to the same
/// LU the tool opens a second session under <see cref="SecondInitiatorName"/>, so the
/// multipath and two-I_T-nexus reservation tests really run.
/// </summary>
internal sealed record IscsiTestCuOptions
{
    public required IReadOnlyList<string> Urls { get; init; }

    /// <summary><c>-d</c>: allow tests that overwrite data on the LU.</summary>
    public bool Dataloss { get; init; } = true;

    /// <summary><c>-S</c>: allow SANITIZE tests (they overwrite the whole LU).</summary>
    public bool AllowSanitize { get; init; }

    /// <summary>
    /// <c>--test</c> FAMILY[.SUITE[.TEST]]. "ALL" is every distinct test once (230 in 1.19);
    /// null runs every family (ALL, SCSI, iSCSI, LINUX), i.e. most tests two or three times.
    /// </summary>
    public string? TestFilter { get; init; } = "ALL";

    public string InitiatorName { get; init; } = "iqn.2024-01.dev.tessera.test:initiator-a";

    public string SecondInitiatorName { get; init; } = "iqn.2024-01.dev.tessera.test:initiator-b";

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(20);

    public IReadOnlyList<string> ToArguments()
    {
        List<string> arguments =
        [
            $"--initiator-name={InitiatorName}",
            $"--initiator-name-2={SecondInitiatorName}",
        ];
        if (Dataloss)
        {
            arguments.Add("--dataloss");
        }

        if (AllowSanitize)
        {
            arguments.Add("--allow-sanitize");
        }

        if (TestFilter is not null)
        {
            arguments.Add($"--test={TestFilter}");
        }

        // Verbose is the default mode; say it anyway, the parser depends on it.
        arguments.Add("--verbose");
        arguments.AddRange(Urls);
        return arguments;
    }
}
