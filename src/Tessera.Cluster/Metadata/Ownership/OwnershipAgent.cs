using System.Globalization;
using System.Threading.Channels;
using Tessera.Cluster.Metadata.Volumes;

namespace Tessera.Cluster.Metadata.Ownership;

/// <summary>
/// One per node: takes the sub-units that are the node's to take. A sub-unit is vacant when its
/// record is absent (a new volume: epoch 0), Revoked (its holder was fenced by
/// <see cref="DeadNodeFencer"/>, which always happens before anyone can take it — EpochFencing
/// rule 2) or Released. The agent acquires, through <see cref="EpochFencing"/> (only a live
/// incarnation acquires; the epoch compare-and-swap picks one winner), every vacant sub-unit that
/// <see cref="OwnerChoice"/> gives to this node. A vacant sub-unit whose chosen node has not taken
/// it within <see cref="TakeoverGrace"/> (that node is hung, or its agent is not running) may be
/// taken by any live placement node. Held sub-units are never taken, so a node that comes back
/// does not steal its old sub-units from their new owners.
/// The agent re-examines the store whenever membership, volumes or ownership records change.
/// </summary>
internal sealed class OwnershipAgent : IAsyncDisposable
{
    private const int Parallelism = 16;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly IMetadataStore _store;
    private readonly NodeRegistrationInfo _self;
    private readonly EpochFencing _fencing;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _dirty = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<SubunitId, (long Epoch, DateTimeOffset Since)> _vacantSince = [];
    private readonly List<Task> _followers = [];
    private readonly SemaphoreSlim _pass = new(1, 1);
    private Task _loop = Task.CompletedTask;
    private long _acquisitions;
    private int _disposed;

    public OwnershipAgent(IMetadataStore store, NodeRegistrationInfo self, TimeProvider? time = null)
    {
        _store = store;
        _self = self;
        _fencing = new EpochFencing(store, self);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How long a vacant sub-unit waits for its chosen node before any live placement node may take it.</summary>
    public TimeSpan TakeoverGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Raised after this node acquired a sub-unit: (sub-unit, new epoch).</summary>
    public event Action<SubunitId, long>? Acquired;

    /// <summary>Sub-units this agent has acquired so far.</summary>
    public long Acquisitions => Interlocked.Read(ref _acquisitions);

    /// <summary>True once the store refused this incarnation (its key is gone): it acquires nothing more.</summary>
    public bool IsLost { get; private set; }

    /// <summary>Completes when the agent stops (disposed, or lost), with the loop's failure if any.</summary>
    public Task Completion => _loop;

    /// <summary>Starts watching and runs the first pass before returning.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var token = _stop.Token;
        long from = (await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false)).Revision + 1;
        foreach (string prefix in new[] { MetadataKeys.Nodes, MetadataKeys.Volumes, MetadataKeys.Owners })
        {
            _followers.Add(Task.Run(() => PrefixFollower.FollowAsync(_store, prefix, from, _ => MarkDirty(), _ => MarkDirty(), RetryDelay, token), CancellationToken.None));
        }

        await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>
    /// One pass: reads live nodes, volumes and ownership records, and acquires what is this node's
    /// to take. Returns how many sub-units it acquired; sets <see cref="IsLost"/> when refused.
    /// </summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken = default)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ReconcileOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task<int> ReconcileOnceAsync(CancellationToken cancellationToken)
    {
        var nodes = await _store.GetRangeAsync(MetadataKeys.Nodes, cancellationToken).ConfigureAwait(false);
        var live = nodes.Entries.Select(e => e.Key[MetadataKeys.Nodes.Length..]).ToHashSet(StringComparer.Ordinal);
        var volumes = await _store.GetRangeAsync(MetadataKeys.Volumes, cancellationToken).ConfigureAwait(false);
        var owners = await _store.GetRangeAsync(MetadataKeys.Owners, cancellationToken).ConfigureAwait(false);
        var records = owners.Entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        var wanted = new List<(SubunitId Subunit, long Epoch)>();
        var stillVacant = new HashSet<SubunitId>();
        foreach (var entry in volumes.Entries)
        {
            VolumeRecord volume;
            try
            {
                volume = VolumeDirectory.Decode(entry);
            }
            catch (MalformedMetadataException)
            {
                continue; // `tessera status` reports it; nobody can serve it
            }

            if (volume.IndexOf(_self.NodeId) < 0)
            {
                continue;
            }

            long count = volume.ToLayout().SubUnitCount;
            for (int u = 0; u < count; u++)
            {
                var subunit = new SubunitId(volume.Key, u);
                long epoch = 0;
                if (records.TryGetValue(subunit.Key, out var record))
                {
                    epoch = record.Version;
                    if (!IsVacant(record))
                    {
                        continue;
                    }
                }

                stillVacant.Add(subunit);
                if (!_vacantSince.TryGetValue(subunit, out var since) || since.Epoch != epoch)
                {
                    _vacantSince[subunit] = since = (epoch, now);
                }

                if (OwnerChoice.Choose(volume, u, live) == _self.NodeId || now - since.Since >= TakeoverGrace)
                {
                    wanted.Add((subunit, epoch));
                }
            }
        }

        foreach (var gone in _vacantSince.Keys.Where(k => !stillVacant.Contains(k)).ToList())
        {
            _vacantSince.Remove(gone);
        }

        int acquired = 0;
        await Parallel.ForEachAsync(wanted, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (w, ct) =>
        {
            if (IsLost)
            {
                return;
            }

            var result = await _fencing.TryAcquireAsync(w.Subunit, w.Epoch, ct).ConfigureAwait(false);
            if (result.Acquired)
            {
                Interlocked.Increment(ref acquired);
                Interlocked.Increment(ref _acquisitions);
                Acquired?.Invoke(w.Subunit, result.Token!.Epoch);
            }
            else if (result.Failure == AcquireFailure.NotMember)
            {
                IsLost = true;
            }
        }).ConfigureAwait(false);
        return acquired;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await BackgroundLoops.StopAsync(_stop, [.. _followers, _loop]).ConfigureAwait(false);
        _pass.Dispose();
    }

    private static bool IsVacant(KeyValueEntry entry)
    {
        try
        {
            return MetadataJson.Deserialize(entry.Value, MetadataJsonContext.Default.OwnerRecord).State != OwnerState.Held;
        }
        catch (System.Text.Json.JsonException)
        {
            return false; // a malformed record is reported by status, not overwritten blindly
        }
    }

    private bool MarkDirty()
    {
        _dirty.Writer.TryWrite(true);
        return true;
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested && !IsLost)
        {
            try
            {
                // Waiting vacancies need a look again once their grace period has passed.
                TimeSpan? wait = null;
                DateTimeOffset? oldest = null;
                await _pass.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    oldest = _vacantSince.Count > 0 ? _vacantSince.Values.Min(v => v.Since) : null;
                }
                finally
                {
                    _pass.Release();
                }

                if (oldest is not null)
                {
                    wait = oldest + TakeoverGrace - _time.GetUtcNow();
                    if (wait < TimeSpan.Zero)
                    {
                        wait = TimeSpan.Zero;
                    }
                }

                var signal = _dirty.Reader.WaitToReadAsync(token).AsTask();
                if (wait is { } delay)
                {
                    await Task.WhenAny(signal, Task.Delay(delay + TimeSpan.FromMilliseconds(1), _time, token)).ConfigureAwait(false);
                }
                else
                {
                    await signal.ConfigureAwait(false);
                }

                _dirty.Reader.TryRead(out _);
                await ReconcileAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (MetadataStoreException) when (!token.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                MarkDirty();
            }
        }
    }
}
