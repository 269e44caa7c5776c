namespace Tessera.Scsi;

/// <summary>
/// Commands addressed to a LUN that does not exist (SPC-5 4.2.x, SAM-5 5.11): INQUIRY answers
/// with peripheral qualifier 011b, REPORT LUNS and REQUEST SENSE work, everything else is
/// LOGICAL UNIT NOT SUPPORTED. Sense data is in fixed format (there is no control page).
/// </summary>
internal static class NoLogicalUnit
{
    public static void Execute(ScsiTarget target, ScsiTask task)
    {
        if (!task.MarkStarted()) return;
        try
        {
            task.Status = ScsiStatus.Good;
            task.DataInLength = 0;
            task.SetSenseLength(0);
            task.CommandTransferLength = 0;
            var state = LuState.Initial;
            var command = CommandTable.Find(task.Cdb, out _);
            if (command is not null && (command == Inquiry.Command || command == ReportLuns.Command || command == RequestSense.Command))
            {
                int field = command.FindInvalidField(task.Cdb, out int bit);
                if (field >= 0) task.InvalidFieldInCdb(state, field, bit);
                else if (command == Inquiry.Command) Inquiry.ExecuteNoLogicalUnit(target, task, state);
                else if (command == ReportLuns.Command) ReportLuns.Execute(target, task, state);
                else RequestSense.ExecuteNoLogicalUnit(task, state);
                return;
            }
            task.CheckCondition(descriptor: false, SenseKey.IllegalRequest, Asc.LogicalUnitNotSupported);
        }
        finally
        {
            task.MarkCompleted();
        }
    }
}
