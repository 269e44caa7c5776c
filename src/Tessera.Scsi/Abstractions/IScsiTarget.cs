namespace Tessera.Scsi;

/// <summary>
/// The SCSI target device as a transport sees it (SAM-5 4.6): a set of logical units behind
/// target ports. Transports (iSCSI today) call nothing else in this assembly.
/// </summary>
public interface IScsiTarget
{
    /// <summary>
    /// Tells the target a task exists before its data has arrived, so task management can see it.
    /// Optional: <see cref="ExecuteAsync"/> registers tasks not yet registered.
    /// </summary>
    void Register(ScsiTask task);

    /// <summary>Forgets a registered task that will never be executed (e.g. its connection died).</summary>
    void Unregister(ScsiTask task);

    /// <summary>
    /// Executes the command in <paramref name="task"/> and leaves status, sense and Data-In in it.
    /// Never throws for a bad command: a bad CDB becomes CHECK CONDITION with sense.
    /// </summary>
    ValueTask ExecuteAsync(ScsiTask task);

    /// <summary>Performs a task management function on behalf of <paramref name="nexus"/>.</summary>
    ValueTask<TaskManagementResponse> ManageAsync(ItNexus nexus, TaskManagementFunction function, ulong lun, uint referencedTag);

    /// <summary>
    /// A new I_T nexus exists (login completed) — SAM-5 6.3.x unit attention bookkeeping. Completes once
    /// the nexus is in every LU's context (with a cluster context: committed and applied on every node),
    /// so the transport should answer the login only then; a context that cannot be reached throws
    /// <see cref="LuContextUnavailableException"/>.
    /// </summary>
    ValueTask NexusAttachedAsync(ItNexus nexus);

    /// <summary>
    /// The I_T nexus is gone (logout, connection loss, session reinstatement): aborts its tasks,
    /// releases its SCSI-2 reservation (SPC-2 5.5.1), keeps persistent reservations. Completes once the
    /// loss is in every LU's context.
    /// </summary>
    ValueTask NexusLostAsync(ItNexus nexus);

    /// <summary>Synchronous <see cref="NexusAttachedAsync"/>, for callers that cannot await.</summary>
    void NexusAttached(ItNexus nexus);

    /// <summary>Synchronous <see cref="NexusLostAsync"/>, for callers that cannot await.</summary>
    void NexusLost(ItNexus nexus);

    /// <summary>LUNs currently presented, for REPORT LUNS and for transports that want to check.</summary>
    IReadOnlyList<ulong> Luns { get; }
}
