namespace Tessera.Cluster.Metadata;

/// <summary>
/// Follows every change under a key prefix for as long as the token lasts: the store's watch
/// from a revision, re-established after a store error (after a pause), and, when the history
/// it needs has been compacted away, restarted from a fresh listing handed to the caller.
/// </summary>
internal static class PrefixFollower
{
    /// <param name="onEvent">Applies one event; returns true when the event completes its revision,
    /// so a re-established watch starts after it (false: deliver the revision again).</param>
    /// <param name="onListing">Applies a full listing taken after compaction.</param>
    public static async Task FollowAsync(IMetadataStore store, string prefix, long from, Func<WatchEvent, bool> onEvent,
        Action<RangeResult> onListing, TimeSpan retryDelay, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in store.WatchAsync(prefix, from, token).ConfigureAwait(false))
                {
                    if (onEvent(e))
                    {
                        from = e.Revision + 1;
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (MetadataCompactedException)
            {
                try
                {
                    var range = await store.GetRangeAsync(prefix, token).ConfigureAwait(false);
                    onListing(range);
                    from = range.Revision + 1;
                }
                catch (MetadataStoreException) when (!token.IsCancellationRequested)
                {
                    await Task.Delay(retryDelay, token).ConfigureAwait(false);
                }
            }
            catch (MetadataStoreException) when (!token.IsCancellationRequested)
            {
                await Task.Delay(retryDelay, token).ConfigureAwait(false);
            }
        }
    }
}
