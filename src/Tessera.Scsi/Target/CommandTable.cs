namespace Tessera.Scsi;

/// <summary>
/// Opcode → command dispatch, built once. Opcodes with service actions (SERVICE ACTION IN(16),
/// MAINTENANCE IN/OUT, PERSISTENT RESERVE …) have a second-level table indexed by byte 1 bits 4-0.
/// New standard areas register here with one line each.
/// </summary>
internal static class CommandTable
{
    internal enum LookupResult { Found, InvalidOperationCode, InvalidServiceAction }

    private static readonly CommandDescriptor?[] ByOpcode = new CommandDescriptor?[256];
    private static readonly CommandDescriptor?[]?[] ByServiceAction = new CommandDescriptor?[]?[256];

    static CommandTable()
    {
        // SPC-5
        Add(TestUnitReady.Command);
        Add(RequestSense.Command);
        Add(Inquiry.Command);
        Add(ReportLuns.Command);
        Add(ModeSense.ModeSense6);
        Add(ModeSense.ModeSense10);
        Add(ModeSelect.ModeSelect6);
        Add(ModeSelect.ModeSelect10);
        Add(Reserve.Reserve6);
        Add(Reserve.Release6);
        Add(Reserve.Reserve10);
        Add(Reserve.Release10);
        foreach (var c in PersistentReserveIn.Commands) Add(c);
        foreach (var c in PersistentReserveOut.Commands) Add(c);
        Add(ReportTargetPortGroups.Command);
        Add(ReportSupportedOperationCodes.Command);
        Add(ReportSupportedTaskManagementFunctions.Command);
        Add(ExtendedCopy.Command);
        Add(ReceiveCopyResults.CopyStatus);
        Add(ReceiveCopyResults.OperatingParameters);
        // SBC-4
        Add(ReadCapacity.ReadCapacity10);
        Add(ReadCapacity.ReadCapacity16);
        foreach (var c in ReadWrite.Commands) Add(c);
        foreach (var c in Verify.Commands) Add(c);
        foreach (var c in WriteAndVerify.Commands) Add(c);
        Add(SynchronizeCache.SynchronizeCache10);
        Add(SynchronizeCache.SynchronizeCache16);
        Add(Unmap.Command);
        Add(WriteSame.WriteSame10);
        Add(WriteSame.WriteSame16);
        Add(GetLbaStatus.Command);
        Add(CompareAndWrite.Command);
        Add(WriteAtomic.WriteAtomic16);
        Add(OrWrite.OrWrite16);
        Add(PreFetch.PreFetch10);
        Add(PreFetch.PreFetch16);
        foreach (var c in Sanitize.Commands) Add(c);
        Add(ReadDefectData.ReadDefectData10);
        Add(ReadDefectData.ReadDefectData12);
        Add(StartStopUnit.Command);
    }

    private static void Add(CommandDescriptor d)
    {
        if (d.ServiceAction < 0)
        {
            if (ByOpcode[d.Opcode] is not null || ByServiceAction[d.Opcode] is not null)
                throw new InvalidOperationException($"opcode {d.Opcode:X2}h registered twice");
            ByOpcode[d.Opcode] = d;
            return;
        }
        if (ByOpcode[d.Opcode] is not null) throw new InvalidOperationException($"opcode {d.Opcode:X2}h has no service actions");
        var sa = ByServiceAction[d.Opcode] ??= new CommandDescriptor?[32];
        if (sa[d.ServiceAction] is not null) throw new InvalidOperationException($"{d.Opcode:X2}h/{d.ServiceAction:X2}h registered twice");
        sa[d.ServiceAction] = d;
    }

    /// <summary>Finds the command for a CDB (allocation-free).</summary>
    public static CommandDescriptor? Find(ReadOnlySpan<byte> cdb, out LookupResult result)
    {
        if (cdb.IsEmpty) { result = LookupResult.InvalidOperationCode; return null; }
        byte op = cdb[0];
        var d = ByOpcode[op];
        if (d is not null) { result = LookupResult.Found; return d; }
        var sa = ByServiceAction[op];
        if (sa is null) { result = LookupResult.InvalidOperationCode; return null; }
        d = cdb.Length > 1 ? sa[cdb[1] & 0x1F] : null;
        result = d is null ? LookupResult.InvalidServiceAction : LookupResult.Found;
        return d;
    }

    /// <summary>True when the opcode (with that service action, if any) is implemented.</summary>
    public static bool Supports(byte opcode, int serviceAction = -1) =>
        serviceAction < 0 ? ByOpcode[opcode] is not null : ByServiceAction[opcode]?[serviceAction & 0x1F] is not null;

    /// <summary>Every supported command, ascending opcode then service action (REPORT SUPPORTED OPERATION CODES).</summary>
    public static IEnumerable<CommandDescriptor> All()
    {
        for (int op = 0; op < 256; op++)
        {
            if (ByOpcode[op] is { } d) yield return d;
            if (ByServiceAction[op] is { } sa)
                foreach (var s in sa)
                    if (s is not null) yield return s;
        }
    }
}
