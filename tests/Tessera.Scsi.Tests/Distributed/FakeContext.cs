namespace Tessera.Scsi.Tests;

/// <summary>
/// An <see cref="ILuContext"/> standing in for the cluster one: the state is a <see cref="LocalLuContext"/>'s,
/// but changes can be held back (<see cref="Gate"/>: they complete asynchronously, as a commit barrier does)
/// or refused (<see cref="Unavailable"/>: the metadata store cannot be reached, or the node is fenced).
/// <see cref="Override"/> replaces the applied copy, as a fenced node's local marking does.
/// </summary>
internal class FakeContext : ILuContext
{
    private readonly LocalLuContext _inner = new(null);

    public volatile bool Unavailable;

    public TaskCompletionSource? Gate;

    public LuState? Override;

    public int Changes;

    public LuState Current => Override ?? _inner.Current;

    public LocalLuContext Inner => _inner;

    public async ValueTask<T> ChangeAsync<T>(Func<LuState, (LuState Next, T Result)> change, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Changes);
        if (Gate is { } gate) await gate.Task.ConfigureAwait(false);
        if (Unavailable) throw new LuContextUnavailableException("metadata store unreachable (test)");
        return await _inner.ChangeAsync(change, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// A <see cref="FakeContext"/> whose LU is also served by other (imaginary) nodes: it records the abort
/// orders committed through it and answers with <see cref="RemoteAborted"/> as the other nodes' report.
/// </summary>
internal sealed class FakeDistributedContext : FakeContext, IDistributedTaskSet
{
    public List<TaskAbortOrder> Orders { get; } = [];

    public IReadOnlyCollection<string> RemoteAborted { get; set; } = [];

    public Func<TaskAbortOrder, ValueTask<IReadOnlyCollection<string>>>? LocalTaskSet { get; private set; }

    public async ValueTask<(T Result, IReadOnlyCollection<string> Aborted)> ChangeAndAbortAsync<T>(
        Func<LuState, (LuState Next, T Result)> change, Func<T, TaskAbortOrder?> orderOf, CancellationToken cancellationToken = default)
    {
        var result = await ChangeAsync(change, cancellationToken).ConfigureAwait(false);
        var order = orderOf(result);
        if (order is null) return (result, []);
        lock (Orders) Orders.Add(order);
        return (result, RemoteAborted);
    }

    public void BindLocalTaskSet(Func<TaskAbortOrder, ValueTask<IReadOnlyCollection<string>>> abortLocal) => LocalTaskSet = abortLocal;
}

/// <summary>One LU over <see cref="MemoryBlockStore"/> with a fake context, and its target.</summary>
internal sealed class FakeContextHarness
{
    public FakeContextHarness(FakeContext context)
    {
        Context = context;
        Store = new MemoryBlockStore(2048, 512, false);
        Lu = new LogicalUnit(0, Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), Store, context);
        Target = new ScsiTarget(Harness.TargetName, [Lu]);
    }

    public FakeContext Context { get; }

    public MemoryBlockStore Store { get; }

    public LogicalUnit Lu { get; }

    public ScsiTarget Target { get; }

    /// <summary>Attaches the nexus and consumes its POWER ON unit attention.</summary>
    public async Task AttachAsync(ItNexus nexus)
    {
        await Target.NexusAttachedAsync(nexus);
        Assert.Equal(0x2900, Sense.Of(await RunAsync(nexus, Cdb.TestUnitReady())).AscAscq);
    }

    public async Task<ScsiTask> RunAsync(ItNexus nexus, byte[] cdb, int dataIn = 0, byte[]? dataOut = null)
    {
        var t = Harness.NewTask(nexus, cdb, dataIn, dataOut);
        await Target.ExecuteAsync(t);
        return t;
    }

    /// <summary>Starts a READ that blocks inside the store until <see cref="MemoryBlockStore.ReadGate"/> opens.</summary>
    public (ScsiTask Task, Task Execution) StartBlockedRead(ItNexus nexus, uint tag)
    {
        Store.ReadGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = Harness.NewTask(nexus, Cdb.Block(0x28, 0, 1), dataIn: 512, tag: tag);
        var execution = Target.ExecuteAsync(t).AsTask();
        Assert.False(execution.IsCompleted);
        return (t, execution);
    }
}
