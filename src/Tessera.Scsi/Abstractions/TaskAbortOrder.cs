using System.Collections.Immutable;

namespace Tessera.Scsi;

/// <summary>Which tasks a <see cref="TaskAbortOrder"/> covers.</summary>
public enum TaskAbortScope
{
    /// <summary>Every task of the LU (LOGICAL UNIT RESET, target resets, CLEAR TASK SET — SAM-5 7.4, 7.7, 7.8).</summary>
    AllTasks,

    /// <summary>Tasks of the I_T nexuses the registrations cover (PREEMPT AND ABORT — SPC-5 5.14.12.2.5).</summary>
    TasksOfRegistrations,
}

/// <summary>
/// An order to abort tasks of one LU wherever they run: a task lives in the task set of the node whose
/// port received it, so a task management effect that spans I_T nexuses must reach every node
/// (<see cref="IDistributedTaskSet"/>). Pure data, serialisable like <see cref="LuState"/>.
/// </summary>
/// <param name="Scope">Which tasks.</param>
/// <param name="RequesterNexusKey"><see cref="ItNexus.Key"/> of the I_T nexus that asked; under
/// <see cref="TaskAbortScope.TasksOfRegistrations"/> its tasks are spared (the PR OUT itself is one of them).</param>
public sealed record TaskAbortOrder(TaskAbortScope Scope, string RequesterNexusKey)
{
    /// <summary>For <see cref="TaskAbortScope.TasksOfRegistrations"/>: the registrations whose I_T nexuses lose their tasks.</summary>
    public ImmutableArray<PersistentRegistration> Registrations { get; init; } = [];

    /// <summary>True when a task of <paramref name="nexus"/> falls under the order.</summary>
    internal bool Covers(ItNexus nexus)
    {
        if (Scope == TaskAbortScope.AllTasks) return true;
        if (string.Equals(nexus.Key, RequesterNexusKey, StringComparison.Ordinal)) return false;
        foreach (var registration in Registrations)
            if (registration.Covers(nexus)) return true;
        return false;
    }
}
