namespace Tessera.Cluster;

/// <summary>The one way this assembly's watch/follow loops end: cancel, wait for the loops, forget the cancellation they end with.</summary>
internal static class BackgroundLoops
{
    /// <summary>Cancels <paramref name="stop"/>, waits for every loop (a loop ending by cancellation is a normal end), then disposes <paramref name="stop"/>.</summary>
    public static async ValueTask StopAsync(CancellationTokenSource stop, params Task[] loops)
    {
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }
}
