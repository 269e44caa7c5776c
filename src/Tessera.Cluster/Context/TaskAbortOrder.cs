using System.Collections.Immutable;
using Tessera.Scsi;

namespace Tessera.Cluster.Context;

/// <summary>Which tasks an abort order covers.</summary>
internal enum TaskAbortScope
{
    /// <summary>Every task of the LU (LOGICAL UNIT RESET, CLEAR TASK SET — SAM-5 7.4, 7.7).</summary>
    AllTasks,

    /// <summary>Tasks of the I_T nexuses the registrations cover (PREEMPT AND ABORT — SPC-5 5.14.12.2.5).</summary>
    TasksOfRegistrations,
}

/// <summary>
/// An order, committed together with a context change, to abort tasks of the LU on every node. The
/// cluster-side half of the Tessera.Scsi hook proposed in docs/cluster-context.md ("Tessera.Scsi hooks"):
/// once Tessera.Scsi defines the public type, this record becomes that one.
/// </summary>
internal sealed record TaskAbortOrder(TaskAbortScope Scope, string RequesterNexusKey)
{
    /// <summary>For <see cref="TaskAbortScope.TasksOfRegistrations"/>: the registrations whose nexuses lose their tasks.</summary>
    public ImmutableArray<PersistentRegistration> Registrations { get; init; } = [];

    /// <summary>The node that committed the order (set by the context); it aborts its own tasks itself.</summary>
    public string? OriginNode { get; init; }
}

/// <summary>A node's answer to an abort order: the order's revision and the I_T nexuses that lost tasks there.</summary>
internal sealed record TaskAbortReport(string Node, long Revision)
{
    public ImmutableArray<string> AbortedNexusKeys { get; init; } = [];
}
