namespace Tessera.Cluster.Volume;

/// <summary>
/// Test and simulation aid for the in-process cluster: delays a message by a seeded random number
/// of thread-pool hops, so parts and token messages overtake one another as they would on a real
/// network (the ordering protocol assumes no FIFO at all).
/// </summary>
internal sealed class NetworkJitter(int seed, int maxHops = 3)
{
    private readonly Random _random = new(seed);

    public async ValueTask DelayAsync()
    {
        int hops;
        lock (_random)
        {
            hops = _random.Next(maxHops + 1);
        }

        for (int i = 0; i < hops; i++)
        {
            await Task.Yield();
        }
    }
}
