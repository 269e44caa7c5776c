using System.Buffers.Binary;
using Tessera.Scsi;

namespace Tessera.Cluster.Tests.Context;

/// <summary>
/// The SCSI layer on every node of a <see cref="ContextCluster"/>: one ScsiTarget per node presenting LUN 0,
/// a Tessera.Scsi LogicalUnit whose context is that node's ClusterLuContext, all over one shared block
/// store. Node i's port is relative target port i in target port group i.
/// </summary>
internal sealed class ScsiCluster
{
    public const string TargetName = "iqn.2026-01.io.tessera:cluster";

    // SPC-5 6.17.2 PERSISTENT RESERVE OUT service actions and Table 62 types used here.
    public const byte Register = 0x00, Reserve = 0x01, Clear = 0x03, PreemptAndAbort = 0x05;
    public const byte WriteExclusive = 0x01;

    private int _tag;

    public ScsiCluster(ContextCluster cluster)
    {
        Store = new SharedMemoryBlockStore(2048);
        var volume = Guid.ParseExact(cluster.VolumeId, "N");
        Targets = cluster.Nodes.Select(n => new ScsiTarget(TargetName, [new LogicalUnit(0, volume, Store, n.Context)])).ToList();
    }

    public SharedMemoryBlockStore Store { get; }

    public List<ScsiTarget> Targets { get; }

    /// <summary>An initiator port logged in through node <paramref name="node"/> (1-based).</summary>
    public static ItNexus Nexus(string initiator, ulong isid, int node) => new(initiator, isid, (ushort)node, (ushort)node);

    public ScsiTarget Target(int node) => Targets[node - 1];

    public async Task<ScsiTask> ExecuteAsync(int node, ItNexus nexus, byte[] cdb, byte[]? dataOut = null, int dataIn = 0)
    {
        var task = NewTask(nexus, cdb, dataOut, dataIn);
        await Target(node).ExecuteAsync(task);
        return task;
    }

    /// <summary>A task as a transport hands it over (not yet executed).</summary>
    public ScsiTask NewTask(ItNexus nexus, byte[] cdb, byte[]? dataOut = null, int dataIn = 0)
    {
        var task = new ScsiTask { Nexus = nexus, Lun = 0, Tag = (uint)Interlocked.Increment(ref _tag), Attribute = TaskAttribute.Simple };
        task.SetCdb(cdb);
        if (dataOut is not null)
        {
            task.IsWrite = true;
            task.DataOut = dataOut;
            task.ExpectedDataTransferLength = dataOut.Length;
        }
        else if (dataIn > 0)
        {
            task.IsRead = true;
            task.DataIn = new byte[dataIn];
            task.ExpectedDataTransferLength = dataIn;
        }

        return task;
    }

    /// <summary>READ (10) of one block: the CDB the blocked-command tests hold in the store.</summary>
    public static byte[] Read10(uint lba)
    {
        var cdb = new byte[10];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), 1);
        return cdb;
    }

    /// <summary>REPORT TARGET PORT GROUPS through node <paramref name="node"/>: (group, access state, status code) per descriptor (SPC-5 6.37).</summary>
    public async Task<List<(ushort Group, AsymmetricAccessState State, byte Status)>> ReportTargetPortGroupsAsync(int node, ItNexus nexus)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA3;
        cdb[1] = 0x0A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), 1024);
        var task = await ExecuteAsync(node, nexus, cdb, dataIn: 1024);
        AssertGood(task, $"RTPG via node {node}");
        var d = task.DataIn.Span[..task.DataInLength];
        var groups = new List<(ushort, AsymmetricAccessState, byte)>();
        for (int at = 4; at < d.Length; at += 8 + 4 * d[at + 7])
        {
            groups.Add((BinaryPrimitives.ReadUInt16BigEndian(d[(at + 2)..]), (AsymmetricAccessState)(d[at] & 0x0F), d[at + 5]));
        }

        return groups;
    }

    public Task<ScsiTask> TestUnitReadyAsync(int node, ItNexus nexus) => ExecuteAsync(node, nexus, new byte[6]);

    public Task<ScsiTask> WriteAsync(int node, ItNexus nexus, uint lba, byte fill)
    {
        var cdb = new byte[10];
        cdb[0] = 0x2A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), 1);
        var data = new byte[Store.BlockSize];
        data.AsSpan().Fill(fill);
        return ExecuteAsync(node, nexus, cdb, dataOut: data);
    }

    public Task<ScsiTask> ReadAsync(int node, ItNexus nexus, uint lba)
    {
        var cdb = new byte[10];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), 1);
        return ExecuteAsync(node, nexus, cdb, dataIn: Store.BlockSize);
    }

    /// <summary>PERSISTENT RESERVE OUT with a 24-byte parameter list (SPC-5 6.17.3).</summary>
    public Task<ScsiTask> PersistentReserveOutAsync(int node, ItNexus nexus, byte serviceAction, byte type, ulong reservationKey, ulong serviceActionReservationKey)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5F;
        cdb[1] = serviceAction;
        cdb[2] = type; // scope 0h: LU_SCOPE
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(5), 24);
        var list = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(list, reservationKey);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), serviceActionReservationKey);
        return ExecuteAsync(node, nexus, cdb, dataOut: list);
    }

    public static void AssertGood(ScsiTask task, string what)
    {
        if (task.Status != ScsiStatus.Good)
        {
            Assert.Fail($"{what}: {task.Status} {Describe(task)}");
        }
    }

    public static void AssertStatus(ScsiStatus expected, ScsiTask task, string what)
    {
        if (task.Status != expected)
        {
            Assert.Fail($"{what}: expected {expected}, got {task.Status} {Describe(task)}");
        }
    }

    /// <summary>CHECK CONDITION, UNIT ATTENTION with the given ASC/ASCQ.</summary>
    public static void AssertUnitAttention(ScsiTask task, byte asc, byte ascq, string what)
    {
        AssertStatus(ScsiStatus.CheckCondition, task, what);
        var (key, a, q) = Sense(task);
        if (key != 0x6 || a != asc || q != ascq)
        {
            Assert.Fail($"{what}: expected UNIT ATTENTION {asc:X2}h/{ascq:X2}h, got {Describe(task)}");
        }
    }

    public static (byte Key, byte Asc, byte Ascq) Sense(ScsiTask task)
    {
        var s = task.Sense;
        if (s.Length == 0)
        {
            return (0, 0, 0);
        }

        // SPC-5 4.4.2 descriptor format (72h) or 4.4.3 fixed format (70h).
        return (s[0] & 0x7F) is 0x72 or 0x73
            ? ((byte)(s[1] & 0x0F), s[2], s[3])
            : ((byte)(s[2] & 0x0F), s.Length > 12 ? s[12] : (byte)0, s.Length > 13 ? s[13] : (byte)0);
    }

    private static string Describe(ScsiTask task)
    {
        var (key, asc, ascq) = Sense(task);
        return task.SenseLength == 0 ? "(no sense)" : $"(sense key {key:X}h, {asc:X2}h/{ascq:X2}h)";
    }

    /// <summary>
    /// Issue 5 show item "Reservations without a window", looped: initiator A registers and takes a Write
    /// Exclusive reservation through node 1; the instant PR OUT completes, initiator B's WRITE through node 3
    /// gets RESERVATION CONFLICT; PREEMPT AND ABORT by initiator C through node 2 raises REGISTRATIONS
    /// PREEMPTED for A's nexus on node 1 — at once, with no wait anywhere.
    /// </summary>
    public static async Task RunReservationsWithoutAWindowAsync(ScsiCluster scsi, int iterations)
    {
        var a = Nexus("iqn.2026-01.io.test:a", 0x1, node: 1);
        var b = Nexus("iqn.2026-01.io.test:b", 0x2, node: 3);
        var c = Nexus("iqn.2026-01.io.test:c", 0x3, node: 2);
        scsi.Target(1).NexusAttached(a);
        scsi.Target(3).NexusAttached(b);
        scsi.Target(2).NexusAttached(c);
        // SAM-5 6.3: a new nexus first reports POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
        AssertUnitAttention(await scsi.TestUnitReadyAsync(1, a), 0x29, 0x00, "A's first command");
        AssertUnitAttention(await scsi.TestUnitReadyAsync(3, b), 0x29, 0x00, "B's first command");
        AssertUnitAttention(await scsi.TestUnitReadyAsync(2, c), 0x29, 0x00, "C's first command");

        for (int i = 0; i < iterations; i++)
        {
            ulong ka = 0xA000_0000UL + (ulong)i, kc = 0xC000_0000UL + (ulong)i;
            string at = $"iteration {i}";
            AssertGood(await scsi.PersistentReserveOutAsync(1, a, Register, 0, 0, ka), $"{at}: A REGISTER via node 1");
            AssertGood(await scsi.PersistentReserveOutAsync(1, a, Reserve, WriteExclusive, ka, 0), $"{at}: A RESERVE WE via node 1");

            // The instant PR OUT completed: B's write through node 3 conflicts; reads are still allowed (WE).
            AssertStatus(ScsiStatus.ReservationConflict, await scsi.WriteAsync(3, b, 7, 0xBB), $"{at}: B WRITE via node 3");
            AssertGood(await scsi.ReadAsync(3, b, 7), $"{at}: B READ via node 3");
            AssertGood(await scsi.WriteAsync(1, a, 7, (byte)i), $"{at}: holder A WRITE via node 1");

            AssertGood(await scsi.PersistentReserveOutAsync(2, c, Register, 0, 0, kc), $"{at}: C REGISTER via node 2");
            AssertGood(await scsi.PersistentReserveOutAsync(2, c, PreemptAndAbort, WriteExclusive, kc, ka), $"{at}: C PREEMPT AND ABORT via node 2");

            // The instant PREEMPT AND ABORT completed: A's nexus on node 1 reports REGISTRATIONS PREEMPTED
            // (SPC-5 5.14.12.2.5), then conflicts as a non-registrant under C's reservation.
            AssertUnitAttention(await scsi.TestUnitReadyAsync(1, a), 0x2A, 0x05, $"{at}: A after PREEMPT AND ABORT via node 1");
            AssertStatus(ScsiStatus.ReservationConflict, await scsi.WriteAsync(1, a, 7, 0xAA), $"{at}: preempted A WRITE via node 1");

            AssertGood(await scsi.PersistentReserveOutAsync(2, c, Clear, 0, kc, 0), $"{at}: C CLEAR via node 2");
            AssertGood(await scsi.WriteAsync(3, b, 7, 0xBB), $"{at}: B WRITE via node 3 after CLEAR");
        }
    }
}
