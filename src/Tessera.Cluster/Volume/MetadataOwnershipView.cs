using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Ownership;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Cluster.Ordering;

namespace Tessera.Cluster.Volume;

/// <summary>
/// <see cref="IOwnershipView"/> of one volume from its ownership records
/// (/tessera/owners/&lt;volume-id&gt;/, <see cref="EpochFencing"/>), kept current by one watch.
/// The hot path (<see cref="Owner"/>, <see cref="Epoch"/>) reads one packed 64-bit slot per
/// sub-unit — owner index and epoch change together in a single write, so an owner that checks
/// "epoch, then owner" never sees a new epoch with an old owner — and allocates nothing.
/// A sub-unit without a holder (never acquired, Revoked, Released, or held by a node outside the
/// placement) reports <see cref="NoOwner"/>: no node accepts it as its own, and a portal routing
/// to it gets <see cref="NodeUnavailableException"/> and retries with a fresh map.
/// Node index i is <see cref="VolumeRecord.Placement"/>[i].
/// </summary>
internal sealed class MetadataOwnershipView : IOwnershipView, IAsyncDisposable
{
    /// <summary>Owner of a sub-unit nobody holds.</summary>
    public static readonly NodeId NoOwner = new(-1);

    private const int OwnerBits = 16;
    private const long OwnerMask = (1L << OwnerBits) - 1;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly IMetadataStore _store;
    private readonly string _prefix;
    private readonly long[] _slots; // (epoch << 16) | (owner index + 1); 0 in the low bits = no owner
    private readonly Dictionary<string, int> _indexOf;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _waitersGate = new();
    private readonly List<(Func<MetadataOwnershipView, bool> Condition, TaskCompletionSource Done)> _waiters = [];
    private Task _loop = Task.CompletedTask;
    private long _revision;

    private MetadataOwnershipView(IMetadataStore store, VolumeRecord volume)
    {
        if (volume.Placement.Count >= (int)OwnerMask)
        {
            throw new ArgumentException($"placement of {volume.Placement.Count} nodes is too large for the view", nameof(volume));
        }

        _store = store;
        Volume = volume;
        Layout = volume.ToLayout();
        _prefix = MetadataKeys.OwnersOf(volume.Key);
        _slots = new long[Layout.SubUnitCount];
        _indexOf = volume.Placement.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i, StringComparer.Ordinal);
    }

    public VolumeRecord Volume { get; }

    public VolumeLayout Layout { get; }

    public long SubUnitCount => _slots.Length;

    /// <summary>Store revision of the last change applied (a listing's revision or an event's).</summary>
    public long Revision => Volatile.Read(ref _revision);

    /// <summary>Sub-units that currently have no holder.</summary>
    public int VacantCount
    {
        get
        {
            int vacant = 0;
            for (int u = 0; u < _slots.Length; u++)
            {
                if ((Volatile.Read(ref _slots[u]) & OwnerMask) == 0)
                {
                    vacant++;
                }
            }

            return vacant;
        }
    }

    /// <summary>The last malformed ownership record met (its sub-unit counts as vacant), or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>Completes with the follower's failure; a disposed view completes normally.</summary>
    public Task Completion => _loop;

    /// <summary>
    /// Raised on the follower's loop after a sub-unit's record changed: (sub-unit, owner or
    /// <see cref="NoOwner"/>, epoch). Handlers must not block.
    /// </summary>
    public event Action<long, NodeId, long>? Changed;

    /// <summary>Reads the volume's ownership records, then follows them until disposed.</summary>
    public static async Task<MetadataOwnershipView> StartAsync(IMetadataStore store, VolumeRecord volume, CancellationToken cancellationToken = default)
    {
        var view = new MetadataOwnershipView(store, volume);
        var range = await store.GetRangeAsync(view._prefix, cancellationToken).ConfigureAwait(false);
        view.Load(range);
        view._loop = Task.Run(() => PrefixFollower.FollowAsync(store, view._prefix, range.Revision + 1, view.OnEvent, view.Load, RetryDelay, view._stop.Token));
        return view;
    }

    public NodeId Owner(long subUnit) => new((int)(Volatile.Read(ref _slots[subUnit]) & OwnerMask) - 1);

    public long Epoch(long subUnit) => Volatile.Read(ref _slots[subUnit]) >> OwnerBits;

    /// <summary>Node id of <see cref="Owner"/>, or null when the sub-unit has no holder.</summary>
    public string? OwnerId(long subUnit)
    {
        int index = Owner(subUnit).Value;
        return index < 0 ? null : Volume.Placement[index];
    }

    /// <summary>Completes once <paramref name="condition"/> holds for the view (checked now and after every change).</summary>
    public Task WaitAsync(Func<MetadataOwnershipView, bool> condition, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersGate)
        {
            if (condition(this))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((condition, done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Completes once every sub-unit has a holder.</summary>
    public Task WaitAllOwnedAsync(CancellationToken cancellationToken = default) => WaitAsync(v => v.VacantCount == 0, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await BackgroundLoops.StopAsync(_stop, _loop).ConfigureAwait(false);
    }

    private bool OnEvent(WatchEvent e)
    {
        if (SubUnitOf(e.Key) is { } u)
        {
            // A delete means the volume is being deleted: nobody owns the sub-unit any more.
            long slot = e.Type == WatchEventType.Put ? Slot(e.Key, e.Value, e.Version) : 0;
            Apply(u, slot);
        }

        Volatile.Write(ref _revision, e.Revision);
        Notify();
        return true;
    }

    private void Load(RangeResult range)
    {
        var seen = new bool[_slots.Length];
        foreach (var entry in range.Entries)
        {
            if (SubUnitOf(entry.Key) is { } u)
            {
                seen[u] = true;
                Apply(u, Slot(entry.Key, entry.Value, entry.Version));
            }
        }

        for (int u = 0; u < seen.Length; u++)
        {
            if (!seen[u])
            {
                Apply(u, 0);
            }
        }

        Volatile.Write(ref _revision, range.Revision);
        Notify();
    }

    private void Apply(int subUnit, long slot)
    {
        if (Volatile.Read(ref _slots[subUnit]) == slot)
        {
            return;
        }

        Volatile.Write(ref _slots[subUnit], slot);
        Changed?.Invoke(subUnit, new NodeId((int)(slot & OwnerMask) - 1), slot >> OwnerBits);
    }

    // The epoch is the record's version (EpochFencing's invariant), so a record whose JSON lags cannot lie about it.
    private long Slot(string key, ReadOnlyMemory<byte> value, long version)
    {
        OwnerRecord record;
        try
        {
            record = MetadataJson.Deserialize(value, MetadataJsonContext.Default.OwnerRecord);
        }
        catch (System.Text.Json.JsonException e)
        {
            // Nobody can be trusted to own it; the record is reported, not fatal to the whole view.
            Problem = new MalformedMetadataException(key, e.Message, e).Message;
            return version << OwnerBits;
        }

        long owner = record.State == OwnerState.Held && _indexOf.TryGetValue(record.Node, out int index) ? index + 1 : 0;
        return (version << OwnerBits) | owner;
    }

    private int? SubUnitOf(string key)
    {
        if (!key.StartsWith(_prefix, StringComparison.Ordinal) ||
            !int.TryParse(key.AsSpan(_prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int u) ||
            u >= _slots.Length)
        {
            return null;
        }

        return u;
    }

    private void Notify()
    {
        List<TaskCompletionSource>? done = null;
        lock (_waitersGate)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(this))
                {
                    (done ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        done?.ForEach(d => d.TrySetResult());
    }
}
