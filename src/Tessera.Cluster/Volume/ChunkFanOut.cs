using System.Buffers;
using System.Runtime.ExceptionServices;

namespace Tessera.Cluster.Volume;

/// <summary>
/// Chunk I/Os of one stripe step issued together and awaited together, so over a network they
/// overlap instead of costing one round trip each. Every started I/O is awaited even when another
/// fails, because they reference pooled buffers the caller returns afterwards. The task array is
/// pooled; page-cache I/O completes synchronously and allocates nothing.
/// </summary>
internal struct ChunkFanOut
{
    private ValueTask[]? _tasks;
    private int _count;

    /// <summary>Adds an I/O already started (its start must not throw: callers turn a throw into a faulted task).</summary>
    public void Add(ValueTask task)
    {
        _tasks ??= ArrayPool<ValueTask>.Shared.Rent(8);
        if (_count == _tasks.Length)
        {
            ValueTask[] larger = ArrayPool<ValueTask>.Shared.Rent(_count * 2);
            _tasks.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<ValueTask>.Shared.Return(_tasks, clearArray: true);
            _tasks = larger;
        }

        _tasks[_count++] = task;
    }

    /// <summary>Awaits every I/O added; rethrows the first failure after all have finished.</summary>
    public readonly ValueTask WhenAllAsync()
    {
        if (_tasks is null)
        {
            return default;
        }

        for (int i = 0; i < _count; i++)
        {
            if (!_tasks[i].IsCompletedSuccessfully)
            {
                return SlowAsync(_tasks, _count, i);
            }

            _tasks[i].GetAwaiter().GetResult();
        }

        ArrayPool<ValueTask>.Shared.Return(_tasks, clearArray: true);
        return default;
    }

    private static async ValueTask SlowAsync(ValueTask[] tasks, int count, int from)
    {
        Exception? first = null;
        for (int i = from; i < count; i++)
        {
            try
            {
                await tasks[i].ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                first ??= ex;
            }
        }

        ArrayPool<ValueTask>.Shared.Return(tasks, clearArray: true);
        if (first is not null)
        {
            ExceptionDispatchInfo.Throw(first);
        }
    }
}
