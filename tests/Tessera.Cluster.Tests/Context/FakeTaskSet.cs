using System.Collections.Concurrent;
using Tessera.Cluster.Context;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>
/// Stands in for a node's Tessera.Scsi task set (the hook docs/cluster-context.md asks for): running
/// "tasks" per I_T nexus; an abort order marks the matching ones aborted, and each ends a little later
/// (as a running command finishes its I/O), or never when <see cref="Hang"/> is set.
/// </summary>
internal sealed class FakeTaskSet
{
    private readonly ConcurrentDictionary<int, FakeTask> _tasks = new();
    private int _next;

    public bool Hang { get; set; }

    public int Orders;

    public IReadOnlyCollection<FakeTask> Tasks => _tasks.Values.ToList();

    public void Start(string nexusKey, int count = 1)
    {
        for (int i = 0; i < count; i++)
        {
            _tasks[Interlocked.Increment(ref _next)] = new FakeTask(nexusKey);
        }
    }

    public async ValueTask<IReadOnlyCollection<string>> AbortAsync(TaskAbortOrder order)
    {
        Interlocked.Increment(ref Orders);
        var hit = _tasks.Values.Where(t => !t.Ended.Task.IsCompleted &&
            (order.Scope == TaskAbortScope.AllTasks || order.Registrations.Any(r => r.NexusKey == t.NexusKey))).ToList();
        foreach (var t in hit)
        {
            t.Aborted = true;
        }

        if (Hang)
        {
            await Task.Delay(Timeout.Infinite);
        }

        await Task.Delay(50); // the aborted commands finish what they were doing
        foreach (var t in hit)
        {
            t.Ended.TrySetResult();
        }

        return hit.Select(t => t.NexusKey).Distinct().ToList();
    }
}

internal sealed class FakeTask(string nexusKey)
{
    public string NexusKey { get; } = nexusKey;

    public volatile bool Aborted;

    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
