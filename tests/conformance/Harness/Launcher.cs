namespace Tessera.Conformance.Harness;

/// <summary>An executable plus the arguments that always precede the caller's (e.g. <c>dotnet tessera.dll</c>).</summary>
internal sealed record Launcher(string FileName, IReadOnlyList<string> PrefixArguments)
{
    public IReadOnlyList<string> With(IEnumerable<string> arguments) => [.. PrefixArguments, .. arguments];

    public override string ToString() => string.Join(' ', [FileName, .. PrefixArguments]);
}
