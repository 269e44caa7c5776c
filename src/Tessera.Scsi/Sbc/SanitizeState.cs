namespace Tessera.Scsi;

/// <summary>
/// The sanitize condition of a logical unit (SBC-4 4.11), part of <see cref="LuState"/> so that every node
/// of a cluster refuses media access the same way: either a sanitize operation is in progress, or the last
/// one failed and the LU stays in failure mode until a SANITIZE succeeds or (when the failed command had
/// AUSE = 1) EXIT FAILURE MODE is requested. Absent (null) when neither holds.
/// </summary>
/// <param name="InProgress">A sanitize operation is running.</param>
/// <param name="Failed">The last sanitize operation completed with an error.</param>
/// <param name="Ause">AUSE of the SANITIZE command that started the operation (SBC-4 5.24.1).</param>
public sealed record SanitizeState(bool InProgress, bool Failed, bool Ause);
