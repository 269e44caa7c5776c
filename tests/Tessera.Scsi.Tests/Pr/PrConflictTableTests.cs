namespace Tessera.Scsi.Tests;

/// <summary>
/// The SPC-5 5.14.3 / SBC-4 4.17 reservation-conflict table: every reservation type × command class
/// (always allowed, read, write) × I_T nexus role (holder, registered non-holder, unregistered),
/// run as real commands through the target. The expectations are written out from the standard's
/// table, not computed.
/// </summary>
public class PrConflictTableTests
{
    public enum Role { Holder, Registered, Unregistered }

    // "A" allowed class passes, "R" read class passes, "W" write class passes; "-" is RESERVATION CONFLICT.
    private static readonly Dictionary<byte, (string Holder, string Registered, string Unregistered)> Expected = new()
    {
        [Pr.WE] = ("ARW", "AR-", "AR-"),
        [Pr.EA] = ("ARW", "A--", "A--"),
        [Pr.WERO] = ("ARW", "ARW", "AR-"),
        [Pr.EARO] = ("ARW", "ARW", "A--"),
        [Pr.WEAR] = ("ARW", "ARW", "AR-"),
        [Pr.EAAR] = ("ARW", "ARW", "A--"),
    };

    private static readonly (string Name, byte[] Cdb, int DataIn, int DataOut)[] AllowedClass =
    [
        ("TEST UNIT READY", Cdb.TestUnitReady(), 0, 0),
        ("INQUIRY", Cdb.Inquiry(), 255, 0),
        ("REPORT LUNS", Cdb.ReportLuns(), 64, 0),
        ("REQUEST SENSE", Cdb.RequestSense(), 252, 0),
        ("READ CAPACITY(10)", Cdb.ReadCapacity10(), 8, 0),
        ("READ CAPACITY(16)", Cdb.ReadCapacity16(), 32, 0),
        ("PERSISTENT RESERVE IN", Pr.InCdb(0), 8192, 0),
    ];

    private static readonly (string Name, byte[] Cdb, int DataIn, int DataOut)[] ReadClass =
    [
        ("READ(6)", Cdb.Block(0x08, 1, 1), 512, 0),
        ("READ(10)", Cdb.Block(0x28, 1, 1), 512, 0),
        ("READ(16)", Cdb.Block(0x88, 1, 1), 512, 0),
        ("VERIFY(10)", Cdb.Block(0x2F, 1, 1), 0, 0),
        ("MODE SENSE(6)", Cdb.ModeSense6(0x3F), 255, 0),
        ("MODE SENSE(10)", Cdb.ModeSense10(0x3F), 1024, 0),
    ];

    private static readonly (string Name, byte[] Cdb, int DataIn, int DataOut)[] WriteClass =
    [
        ("WRITE(10)", Cdb.Block(0x2A, 1, 1), 0, 512),
        ("WRITE(16)", Cdb.Block(0x8A, 1, 1), 0, 512),
        ("WRITE AND VERIFY(10)", Cdb.Block(0x2E, 1, 1), 0, 512),
        ("SYNCHRONIZE CACHE(10)", Cdb.Block(0x35, 0, 0), 0, 0),
        ("MODE SELECT(6)", Cdb.ModeSelect6(0), 0, 0),
    ];

    public static TheoryData<byte, Role> Cases()
    {
        var data = new TheoryData<byte, Role>();
        foreach (var type in Pr.AllTypes)
            foreach (var role in Enum.GetValues<Role>())
                data.Add(type, role);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CommandsFollowTheSpc5Table(byte type, Role role)
    {
        var h = new Harness();
        h.Attach(Pr.NexusC);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(Harness.NexusA, 0xA));
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(Harness.NexusB, 0xB));
        Assert.Equal(ScsiStatus.Good, h.ReserveAs(Harness.NexusA, 0xA, type));
        var nexus = role switch { Role.Holder => Harness.NexusA, Role.Registered => Harness.NexusB, _ => Pr.NexusC };
        var expected = Expected[type];
        string allowed = role switch { Role.Holder => expected.Holder, Role.Registered => expected.Registered, _ => expected.Unregistered };

        Check(h, nexus, AllowedClass, allowed[0] == 'A', type, role);
        Check(h, nexus, ReadClass, allowed[1] == 'R', type, role);
        int writesBefore = h.Store.Writes;
        Check(h, nexus, WriteClass, allowed[2] == 'W', type, role);
        if (allowed[2] != 'W') Assert.Equal(writesBefore, h.Store.Writes); // nothing reached the medium
    }

    private static void Check(Harness h, ItNexus nexus, (string Name, byte[] Cdb, int DataIn, int DataOut)[] commands, bool pass, byte type, Role role)
    {
        foreach (var (name, cdb, dataIn, dataOut) in commands)
        {
            var t = h.Run(nexus, cdb, dataIn, dataOut > 0 ? new byte[dataOut] : null);
            var expected = pass ? ScsiStatus.Good : ScsiStatus.ReservationConflict;
            Assert.True(expected == t.Status, $"{name} from {role} under type {type}: {t.Status}, expected {expected}");
            if (!pass) Assert.Equal(0, t.SenseLength);
        }
    }

    [Fact]
    public void RegistrationsWithoutAReservationRestrictNothing()
    {
        var h = new Harness();
        h.Attach(Pr.NexusC);
        Assert.Equal(ScsiStatus.Good, h.RegisterKey(Harness.NexusA, 0xA));
        foreach (var (_, cdb, dataIn, dataOut) in AllowedClass.Concat(ReadClass).Concat(WriteClass))
            Assert.Equal(ScsiStatus.Good, h.Run(Pr.NexusC, cdb, dataIn, dataOut > 0 ? new byte[dataOut] : null).Status);
    }

    [Theory]
    [InlineData(new byte[] { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, (int)ReservationAccessClass.Write)] // UNMAP
    [InlineData(new byte[] { 0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, (int)ReservationAccessClass.Write)] // WRITE SAME(10)
    [InlineData(new byte[] { 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, (int)ReservationAccessClass.Write)] // COMPARE AND WRITE
    [InlineData(new byte[] { 0x48, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // SANITIZE
    [InlineData(new byte[] { 0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // EXTENDED COPY
    [InlineData(new byte[] { 0x4C, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // LOG SELECT
    [InlineData(new byte[] { 0x3B, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // WRITE BUFFER
    [InlineData(new byte[] { 0x1B, 0, 0, 0, 0x00, 0 }, (int)ReservationAccessClass.Write)] // START STOP UNIT, stop
    [InlineData(new byte[] { 0x1B, 0, 0, 0, 0x01, 0 }, (int)ReservationAccessClass.Allowed)] // START STOP UNIT, start
    [InlineData(new byte[] { 0x1B, 0, 0, 0, 0x11, 0 }, (int)ReservationAccessClass.Write)] // START with a power condition
    [InlineData(new byte[] { 0x1E, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Allowed)] // PREVENT ALLOW, allow
    [InlineData(new byte[] { 0x1E, 0, 0, 0, 1, 0 }, (int)ReservationAccessClass.Write)] // PREVENT ALLOW, prevent
    [InlineData(new byte[] { 0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // GET LBA STATUS
    [InlineData(new byte[] { 0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, (int)ReservationAccessClass.Read)] // PRE-FETCH(10)
    [InlineData(new byte[] { 0x37, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // READ DEFECT DATA(10)
    [InlineData(new byte[] { 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // RECEIVE COPY RESULTS
    [InlineData(new byte[] { 0x3C, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // READ BUFFER
    [InlineData(new byte[] { 0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // REPORT SUPPORTED OPERATION CODES
    [InlineData(new byte[] { 0xA3, 0x0D, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Read)] // REPORT SUPPORTED TMFs
    [InlineData(new byte[] { 0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Allowed)] // REPORT TARGET PORT GROUPS
    [InlineData(new byte[] { 0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // SET TARGET PORT GROUPS
    [InlineData(new byte[] { 0x4D, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Allowed)] // LOG SENSE
    [InlineData(new byte[] { 0x5F, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, (int)ReservationAccessClass.Allowed)] // PERSISTENT RESERVE OUT (decided per service action)
    [InlineData(new byte[] { 0xC0, 0, 0, 0, 0, 0 }, (int)ReservationAccessClass.Write)] // unknown: the safe default
    public void CommandsOtherAreasAddAreClassifiedByOpcode(byte[] cdb, int expected) =>
        Assert.Equal((ReservationAccessClass)expected, PersistentReservationAccess.Classify(cdb));
}
