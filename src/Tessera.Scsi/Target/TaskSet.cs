namespace Tessera.Scsi;

/// <summary>
/// The task set of one logical unit (SAM-5 8.x): the tasks known to it, registered or executing,
/// so task management can find them. Add/Remove do not allocate once the set has grown.
/// </summary>
internal sealed class TaskSet
{
    private readonly Lock _gate = new();
    private readonly HashSet<ScsiTask> _tasks = new(ReferenceEqualityComparer.Instance);

    public void Add(ScsiTask task)
    {
        lock (_gate) _tasks.Add(task);
    }

    public void Remove(ScsiTask task)
    {
        lock (_gate) _tasks.Remove(task);
    }

    /// <summary>
    /// Aborts a task of this set; false when it had already completed with its status on the way
    /// (<see cref="ScsiTask.Abort"/>). A task that is not executing will never execute now (see
    /// <see cref="ScsiTask.MarkStarted"/>), and its transport may recycle the object without telling
    /// us, so it leaves the set at once; an executing one leaves when it finishes.
    /// </summary>
    public bool Abort(ScsiTask task)
    {
        bool aborted = task.Abort();
        if (!task.IsRunning) Remove(task);
        return aborted;
    }

    public int Count
    {
        get { lock (_gate) return _tasks.Count; }
    }

    /// <summary>Tasks of one I_T nexus (null: of every nexus).</summary>
    public List<ScsiTask> Snapshot(ItNexus? nexus = null)
    {
        var list = new List<ScsiTask>();
        lock (_gate)
        {
            foreach (var t in _tasks)
                if (nexus is null || nexus.Equals(t.Nexus)) list.Add(t);
        }
        return list;
    }

    /// <summary>The task of <paramref name="nexus"/> with transport tag <paramref name="tag"/>.</summary>
    public ScsiTask? Find(ItNexus nexus, uint tag)
    {
        lock (_gate)
        {
            foreach (var t in _tasks)
                if (t.Tag == tag && nexus.Equals(t.Nexus)) return t;
        }
        return null;
    }
}
