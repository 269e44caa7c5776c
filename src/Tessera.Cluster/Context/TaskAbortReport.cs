using System.Collections.Immutable;

namespace Tessera.Cluster.Context;

/// <summary>A node's answer to an abort order: the order's revision and the I_T nexuses that lost tasks there.</summary>
internal sealed record TaskAbortReport(string Node, long Revision)
{
    public ImmutableArray<string> AbortedNexusKeys { get; init; } = [];
}
