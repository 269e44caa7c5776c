namespace Tessera.Cluster.Ordering;

/// <summary>
/// Indexed binary min-heap of placed entries by (timestamp, request id). Supports the two
/// updates the protocol needs besides insert/remove-min: a key that only grows (Final) and
/// removal from the middle (Abort). The backing array only grows, so no per-request allocation.
/// </summary>
internal sealed class OrderingQueue
{
    private OrderingEntry[] _heap = new OrderingEntry[64];
    private int _count;

    public int Count => _count;

    public OrderingEntry Min => _count > 0 ? _heap[0] : throw new InvalidOperationException("queue is empty");

    public void Insert(OrderingEntry entry)
    {
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        _heap[_count] = entry;
        entry.HeapIndex = _count;
        _count++;
        SiftUp(entry.HeapIndex);
    }

    public void Remove(OrderingEntry entry)
    {
        int index = entry.HeapIndex;
        if (index < 0 || index >= _count || !ReferenceEquals(_heap[index], entry))
        {
            throw new InvalidOperationException($"{entry.Id} is not queued");
        }

        _count--;
        OrderingEntry last = _heap[_count];
        _heap[_count] = null!;
        entry.HeapIndex = -1;
        if (index != _count)
        {
            _heap[index] = last;
            last.HeapIndex = index;
            SiftDown(index);
            SiftUp(last.HeapIndex);
        }
    }

    /// <summary>Call after the entry's key grew (its Final raised the timestamp).</summary>
    public void KeyIncreased(OrderingEntry entry) => SiftDown(entry.HeapIndex);

    private void SiftUp(int index)
    {
        OrderingEntry item = _heap[index];
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            OrderingEntry p = _heap[parent];
            if (!item.Precedes(p))
            {
                break;
            }

            _heap[index] = p;
            p.HeapIndex = index;
            index = parent;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }

    private void SiftDown(int index)
    {
        OrderingEntry item = _heap[index];
        while (true)
        {
            int child = (index << 1) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].Precedes(_heap[child]))
            {
                child++;
            }

            OrderingEntry c = _heap[child];
            if (!c.Precedes(item))
            {
                break;
            }

            _heap[index] = c;
            c.HeapIndex = index;
            index = child;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }
}
