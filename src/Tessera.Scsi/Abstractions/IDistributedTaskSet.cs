namespace Tessera.Scsi;

/// <summary>
/// Optional capability of an <see cref="ILuContext"/> whose LU is served by several nodes: the task set of
/// the LU is spread over them (each node holds the tasks its ports received), so PREEMPT AND ABORT,
/// LOGICAL UNIT RESET and CLEAR TASK SET must abort tasks on every node (SPC-5 5.14.12.2.5, SAM-5 7.4, 7.7).
/// <see cref="LogicalUnit"/> uses it when its context implements it, and its local task set otherwise.
/// </summary>
public interface IDistributedTaskSet
{
    /// <summary>
    /// Commits <paramref name="change"/> and, with it, the abort order <paramref name="orderOf"/> computes
    /// from the change's result (null: none). Completes once every other node serving the LU has applied
    /// the change, aborted the matching tasks and seen them end — or has been taken out of service.
    /// The calling node's own tasks are not aborted here: the caller does that (only it knows which task
    /// is its own). Returns the change's result and the <see cref="ItNexus.Key"/>s that lost tasks on
    /// other nodes.
    /// </summary>
    ValueTask<(T Result, IReadOnlyCollection<string> Aborted)> ChangeAndAbortAsync<T>(
        Func<LuState, (LuState Next, T Result)> change, Func<T, TaskAbortOrder?> orderOf, CancellationToken cancellationToken = default);

    /// <summary>
    /// Hands in this node's task set of the LU: orders committed through other nodes reach it through
    /// <paramref name="abortLocal"/>, which aborts the matching tasks, waits for them to end and returns
    /// the I_T nexus keys that lost tasks. Called by the <see cref="LogicalUnit"/> constructor.
    /// </summary>
    void BindLocalTaskSet(Func<TaskAbortOrder, ValueTask<IReadOnlyCollection<string>>> abortLocal);
}
