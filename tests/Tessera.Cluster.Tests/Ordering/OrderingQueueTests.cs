using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Tests.Ordering;

public sealed class OrderingQueueTests
{
    /// <summary>Random insert / raise-key / remove / pop-min against a sorted reference.</summary>
    [Property(MaxTest = 300)]
    public Property BehavesLikeASortedSet() =>
        Prop.ForAll(Gen.ListOf(Gen.Choose(0, 99)).ToArbitrary(), Gen.Choose(0, int.MaxValue - 1).ToArbitrary(), (ops, seed) =>
        {
            var random = new Random(seed);
            var queue = new OrderingQueue();
            var live = new List<OrderingEntry>();
            var reference = new SortedSet<(long, ulong)>();
            ulong nextId = 0;
            foreach (int op in ops)
            {
                if (op < 45 || live.Count == 0)
                {
                    var e = new OrderingEntry { Id = new RequestId(nextId++), Timestamp = random.Next(0, 20) };
                    queue.Insert(e);
                    live.Add(e);
                    reference.Add((e.Timestamp, e.Id.Value));
                }
                else if (op < 70)
                {
                    OrderingEntry e = live[random.Next(live.Count)];
                    reference.Remove((e.Timestamp, e.Id.Value));
                    e.Timestamp += random.Next(0, 10);
                    reference.Add((e.Timestamp, e.Id.Value));
                    queue.KeyIncreased(e);
                }
                else if (op < 85)
                {
                    OrderingEntry e = live[random.Next(live.Count)];
                    queue.Remove(e);
                    live.Remove(e);
                    reference.Remove((e.Timestamp, e.Id.Value));
                    Assert.Equal(-1, e.HeapIndex);
                }
                else
                {
                    OrderingEntry min = queue.Min;
                    Assert.Equal(reference.Min, (min.Timestamp, min.Id.Value));
                    queue.Remove(min);
                    live.Remove(min);
                    reference.Remove(reference.Min);
                }

                Assert.Equal(reference.Count, queue.Count);
                if (queue.Count > 0)
                {
                    Assert.Equal(reference.Min, (queue.Min.Timestamp, queue.Min.Id.Value));
                }
            }
        });

    [Fact]
    public void RemovingAnEntryThatIsNotQueuedThrows()
    {
        var queue = new OrderingQueue();
        Assert.Throws<InvalidOperationException>(() => queue.Remove(new OrderingEntry()));
        Assert.Throws<InvalidOperationException>(() => queue.Min);
    }
}
