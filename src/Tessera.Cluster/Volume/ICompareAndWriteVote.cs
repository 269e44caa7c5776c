namespace Tessera.Cluster.Volume;

/// <summary>
/// An owner's side of the two-phase decision of a multi-owner COMPARE AND WRITE: report the compare
/// (stripes locked) and learn whether to write. In process the portal's <see cref="CompareAndWriteVote"/>
/// itself; over TCP a <see cref="RemoteCompareAndWriteVote"/> that carries the report to the portal
/// and its decision back by frame.
/// </summary>
internal interface ICompareAndWriteVote
{
    /// <summary>Reports this owner's first miscompare (offset in the request's buffers, or −1); the task says whether to write.</summary>
    Task<bool> ReportAsync(int miscompare);

    /// <summary>This owner's part failed: nobody may write.</summary>
    void Abort(Exception reason);
}
