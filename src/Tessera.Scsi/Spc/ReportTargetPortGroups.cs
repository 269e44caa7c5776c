using System.Buffers.Binary;

namespace Tessera.Scsi;

/// <summary>
/// SPC-5 6.37 REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0Ah): one descriptor per target
/// port group of the LU (<see cref="AluaState"/>) with its asymmetric access state and its target ports.
/// Its presence in the command table turns TPGS in standard INQUIRY data to 01b (implicit ALUA).
/// SET TARGET PORT GROUPS (explicit ALUA) is deliberately absent: with TPGS 01b the device server does
/// not support it, so MAINTENANCE OUT is an unsupported operation code.
/// </summary>
internal static class ReportTargetPortGroups
{
    // Byte 1: PARAMETER DATA FORMAT (7-5) and the service action.
    public static readonly CommandDescriptor Command = new(0xA3, 0x0A, "REPORT TARGET PORT GROUPS",
        [0xA3, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00], Execute,
        CommandFlags.AllowedUnderReservation);

    /// <summary>
    /// Supported states (byte 1 of the descriptor): T_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP — the states
    /// <see cref="AsymmetricAccessState"/> can hold besides offline.
    /// </summary>
    private const byte SupportedStates = 0x80 | 0x08 | 0x04 | 0x02 | 0x01;

    /// <summary>IMPLICIT TRANSITION TIME (seconds): a node's group changes state within a membership lease.</summary>
    internal const byte ImplicitTransitionTimeSeconds = 10;

    private static ValueTask Execute(LogicalUnit lu, ScsiTask task, LuState state)
    {
        var cdb = task.Cdb;
        int format = cdb[1] >> 5;
        int allocation = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]), int.MaxValue);
        // SPC-5 Table 303: 000b length only header, 001b extended header, others reserved.
        if (format > 1) { task.InvalidFieldInCdb(state, 1, 7); return ValueTask.CompletedTask; }
        task.ReturnData(Build(state.Alua.GroupsSeenFrom(task.Nexus), extended: format == 1), allocation);
        return ValueTask.CompletedTask;
    }

    internal static byte[] Build(IReadOnlyList<TargetPortGroupState> groups, bool extended)
    {
        int header = extended ? 8 : 4;
        int length = 0;
        foreach (var g in groups) length += 8 + 4 * g.RelativeTargetPortIds.Length;
        var d = new byte[header + length];
        var s = d.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)length); // RETURN DATA LENGTH: the descriptor list
        if (extended)
        {
            s[4] = 0x10; // FORMAT TYPE 001b
            s[5] = ImplicitTransitionTimeSeconds;
        }
        int at = header;
        foreach (var g in groups)
        {
            // PREF = 0: no group is preferred, every path is equal in Tessera's design.
            s[at] = (byte)g.State;
            s[at + 1] = SupportedStates;
            BinaryPrimitives.WriteUInt16BigEndian(s[(at + 2)..], g.Id);
            s[at + 5] = g.ImplicitlyAltered ? (byte)0x02 : (byte)0x00; // STATUS CODE (Table 308)
            s[at + 7] = (byte)g.RelativeTargetPortIds.Length;        // TARGET PORT COUNT
            at += 8;
            foreach (var port in g.RelativeTargetPortIds)
            {
                BinaryPrimitives.WriteUInt16BigEndian(s[(at + 2)..], port);
                at += 4;
            }
        }
        return d;
    }
}
