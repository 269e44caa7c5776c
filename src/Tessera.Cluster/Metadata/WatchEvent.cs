namespace Tessera.Cluster.Metadata;

/// <summary>Kind of a watch event (mvccpb.Event.EventType).</summary>
internal enum WatchEventType
{
    Put,
    Delete,
}

/// <summary>
/// One change. <see cref="Revision"/> is the revision of the change (for a delete, the
/// deletion's revision). For a delete, Value is empty and CreateRevision/Version are 0.
/// </summary>
internal sealed record WatchEvent(WatchEventType Type, string Key, ReadOnlyMemory<byte> Value, long Revision, long CreateRevision, long Version, long Lease);
