using System.Collections.Concurrent;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// The portal's side of ordered parts sent over TCP (docs/distributed-volume.md §12): each part sent
/// one-way to an owner waits here, under (request id, owner), for that owner's PartDone frame. Votes
/// of a multi-owner COMPARE AND WRITE are routed to the request's <see cref="CompareAndWriteVote"/>
/// through the same entry. An owner that leaves fails its entries; an entry without an answer by its
/// deadline fails as a timeout would (the owner is then suspect, and the membership layer's to fence).
/// </summary>
internal sealed class OrderedPartTable
{
    private readonly ConcurrentDictionary<(RequestId Id, NodeId Owner), Entry> _entries = new();

    /// <summary>Parts sent and not yet answered.</summary>
    public int Count => _entries.Count;

    public Task<int> Register(RequestId id, NodeId owner, OwnerRequest request, long deadlineTicks)
    {
        var entry = new Entry(request, deadlineTicks);
        if (!_entries.TryAdd((id, owner), entry))
        {
            throw new InvalidOperationException($"part of {id} for {owner} is already in flight");
        }

        return entry.Done.Task;
    }

    public void Remove(RequestId id, NodeId owner) => _entries.TryRemove((id, owner), out _);

    public void Complete(RequestId id, NodeId owner, int miscompare)
    {
        if (_entries.TryRemove((id, owner), out Entry? entry))
        {
            entry.Done.TrySetResult(miscompare);
        }
    }

    public void Fail(RequestId id, NodeId owner, Exception error)
    {
        if (_entries.TryRemove((id, owner), out Entry? entry))
        {
            Fail(entry, error);
        }
    }

    /// <summary>The vote of the part's request, if the part is still waiting.</summary>
    public ICompareAndWriteVote? VoteOf(RequestId id, NodeId owner) =>
        _entries.TryGetValue((id, owner), out Entry? entry) ? entry.Request.Vote : null;

    /// <summary><paramref name="node"/> left: its parts will never be answered.</summary>
    public void NodeFailed(NodeId node)
    {
        foreach (KeyValuePair<(RequestId Id, NodeId Owner), Entry> pair in _entries)
        {
            if (pair.Key.Owner == node && _entries.TryRemove(pair.Key, out Entry? entry))
            {
                Fail(entry, new NodeUnavailableException(node));
            }
        }
    }

    /// <summary>Fails every entry (the host is shutting down).</summary>
    public void FailAll(Exception error)
    {
        foreach (KeyValuePair<(RequestId Id, NodeId Owner), Entry> pair in _entries)
        {
            if (_entries.TryRemove(pair.Key, out Entry? entry))
            {
                Fail(entry, error);
            }
        }
    }

    /// <summary>Fails every entry whose deadline has passed.</summary>
    public void Expire(long nowTicks)
    {
        foreach (KeyValuePair<(RequestId Id, NodeId Owner), Entry> pair in _entries)
        {
            if (pair.Value.DeadlineTicks <= nowTicks && _entries.TryRemove(pair.Key, out Entry? entry))
            {
                Fail(entry, new NodeUnavailableException(pair.Key.Owner, new TimeoutException($"no answer for ordered part {pair.Key.Id}")));
            }
        }
    }

    private static void Fail(Entry entry, Exception error)
    {
        entry.Request.Vote?.Abort(error);
        entry.Done.TrySetException(error);
    }

    private sealed class Entry(OwnerRequest request, long deadlineTicks)
    {
        public OwnerRequest Request { get; } = request;

        public long DeadlineTicks { get; } = deadlineTicks;

        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
