namespace Tessera.Scsi.Tests;

public class TaskManagementTests
{
    /// <summary>Starts a READ that blocks inside the store until the gate opens.</summary>
    private static (ScsiTask Task, Task Execution) StartBlockedRead(Harness h, ItNexus nexus, uint tag)
    {
        h.Store.ReadGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = Harness.NewTask(nexus, Cdb.Block(0x28, 0, 1), dataIn: 512, tag: tag);
        int aborts = 0;
        t.AbortCallback = _ => aborts++;
        var execution = h.Target.ExecuteAsync(t).AsTask();
        Assert.False(execution.IsCompleted);
        return (t, execution);
    }

    [Fact]
    public async Task AbortTaskCompletesOnlyAfterTheRunningTaskFinished()
    {
        var h = new Harness();
        var (task, execution) = StartBlockedRead(h, Harness.NexusA, tag: 7);
        var tmf = h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTask, 0, 7).AsTask();
        await Task.Yield();
        Assert.True(task.IsAborted);
        Assert.False(tmf.IsCompleted); // the read is still inside the store
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await execution;
        Assert.Equal(0, h.Lu.Tasks.Count);
    }

    [Fact]
    public async Task AbortTaskOfAnUnknownTagOrLun()
    {
        var h = new Harness();
        Assert.Equal(TaskManagementResponse.TaskDoesNotExist, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTask, 0, 99));
        Assert.Equal(TaskManagementResponse.LunDoesNotExist, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTaskSet, LunAddressing.Encode(4), 0));
        Assert.Equal(TaskManagementResponse.FunctionNotSupported, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.ClearAca, 0, 0));
    }

    [Fact]
    public async Task AbortTaskDoesNotTouchAnotherNexusWithTheSameTag()
    {
        var h = new Harness();
        var (mine, e1) = StartBlockedRead(h, Harness.NexusA, tag: 5);
        var (theirs, e2) = StartBlockedRead(h, Harness.NexusB, tag: 5);
        var tmf = h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTask, 0, 5).AsTask();
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await Task.WhenAll(e1, e2);
        Assert.True(mine.IsAborted);
        Assert.False(theirs.IsAborted);
        Assert.Equal(ScsiStatus.Good, theirs.Status);
    }

    [Fact]
    public async Task RegisteredTasksThatNeverRanAreAbortedWithoutWaiting()
    {
        var h = new Harness();
        var t = Harness.NewTask(Harness.NexusA, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512], tag: 3);
        h.Target.Register(t);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTaskSet, 0, 0));
        Assert.True(t.IsAborted);
        Assert.Equal(0, h.Lu.Tasks.Count); // gone at once: the transport may recycle the object
        await h.Target.ExecuteAsync(t); // the data arrived late: the command must not run
        Assert.Equal(0, h.Store.Writes);
        Assert.Equal(0, h.Lu.Tasks.Count);
    }

    /// <summary>
    /// ABORT TASK against a task whose status the transport is already returning (found in the set a
    /// moment before it left): the task completed, so "task does not exist" and no abort — never
    /// FUNCTION COMPLETE beside a GOOD status (libiscsi iSCSITMF.AbortTaskSimpleAsync).
    /// </summary>
    [Fact]
    public async Task AbortTaskAfterTheTransportCommittedTheResponseFindsNoTask()
    {
        var h = new Harness();
        var t = Harness.NewTask(Harness.NexusA, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512], tag: 3);
        int aborts = 0;
        t.AbortCallback = _ => aborts++;
        h.Target.Register(t);
        Assert.True(t.TryCommitResponse());
        Assert.Equal(TaskManagementResponse.TaskDoesNotExist, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTask, 0, 3));
        Assert.False(t.IsAborted);
        Assert.Equal(0, aborts);
        Assert.True(t.TryCommitResponse()); // idempotent for the transport
    }

    [Fact]
    public async Task AnAbortedTaskGetsNoResponse()
    {
        var h = new Harness();
        var t = Harness.NewTask(Harness.NexusA, Cdb.Block(0x2A, 0, 1), dataOut: new byte[512], tag: 4);
        h.Target.Register(t);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTask, 0, 4));
        Assert.True(t.IsAborted);
        Assert.False(t.TryCommitResponse());
        Assert.True(t.IsAborted);
    }

    [Fact]
    public async Task AbortTaskSetAffectsOnlyTheRequestingNexus()
    {
        var h = new Harness();
        var (a, ea) = StartBlockedRead(h, Harness.NexusA, 1);
        var (b, eb) = StartBlockedRead(h, Harness.NexusB, 2);
        var tmf = h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.AbortTaskSet, 0, 0).AsTask();
        h.Store.ReadGate!.SetResult();
        await tmf;
        await Task.WhenAll(ea, eb);
        Assert.True(a.IsAborted);
        Assert.False(b.IsAborted);
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusB, Cdb.TestUnitReady()).Status); // no unit attention
    }

    [Fact]
    public async Task ClearTaskSetAbortsEveryoneAndTellsTheOthers()
    {
        var h = new Harness();
        var (a, ea) = StartBlockedRead(h, Harness.NexusA, 1);
        var (b, eb) = StartBlockedRead(h, Harness.NexusB, 2);
        var tmf = h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.ClearTaskSet, 0, 0).AsTask();
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await Task.WhenAll(ea, eb);
        Assert.True(a.IsAborted && b.IsAborted);
        h.Store.ReadGate = null;
        Assert.Equal(ScsiStatus.Good, h.Run(Harness.NexusA, Cdb.TestUnitReady()).Status);
        var s = Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady()));
        Assert.Equal((0x6, 0x2F00), (s.Key, s.AscAscq));
    }

    [Fact]
    public async Task LogicalUnitResetAbortsAllTasksAndRaisesBusDeviceReset()
    {
        var h = new Harness();
        var (a, ea) = StartBlockedRead(h, Harness.NexusA, 1);
        var (b, eb) = StartBlockedRead(h, Harness.NexusB, 2);
        var tmf = h.Target.ManageAsync(Harness.NexusB, TaskManagementFunction.LogicalUnitReset, 0, 0).AsTask();
        h.Store.ReadGate!.SetResult();
        Assert.Equal(TaskManagementResponse.FunctionComplete, await tmf);
        await Task.WhenAll(ea, eb);
        Assert.True(a.IsAborted && b.IsAborted);
        h.Store.ReadGate = null;
        Assert.Equal(0x2903, Sense.Of(h.Run(Harness.NexusA, Cdb.TestUnitReady())).AscAscq);
        Assert.Equal(0x2903, Sense.Of(h.Run(Harness.NexusB, Cdb.TestUnitReady())).AscAscq);
    }

    [Fact]
    public async Task TargetResetsCoverEveryLogicalUnit()
    {
        var h = new Harness();
        var store1 = new MemoryBlockStore(64);
        h.Target.AddLogicalUnit(new LogicalUnit(1, Guid.NewGuid(), store1, new LocalLuContext()));
        h.ClearUnitAttentions(Harness.NexusA, 0);
        h.ClearUnitAttentions(Harness.NexusA, 1);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.TargetWarmReset, 0, 0));
        Assert.Equal(0x2902, Sense.Of(h.Run(Cdb.TestUnitReady(), lun: 0)).AscAscq);
        Assert.Equal(0x2902, Sense.Of(h.Run(Cdb.TestUnitReady(), lun: 1)).AscAscq);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await h.Target.ManageAsync(Harness.NexusA, TaskManagementFunction.TargetColdReset, 0, 0));
        Assert.Equal(0x2901, Sense.Of(h.Run(Cdb.TestUnitReady(), lun: 1)).AscAscq);
    }

    [Fact]
    public async Task NexusLossAbortsItsTasks()
    {
        var h = new Harness();
        var (a, ea) = StartBlockedRead(h, Harness.NexusA, 1);
        var (b, eb) = StartBlockedRead(h, Harness.NexusB, 2);
        h.Target.NexusLost(Harness.NexusA);
        Assert.True(a.IsAborted);
        Assert.False(b.IsAborted);
        h.Store.ReadGate!.SetResult();
        await Task.WhenAll(ea, eb);
    }
}
