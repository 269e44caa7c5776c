namespace Tessera.Scsi;

/// <summary>
/// Holds the context of one logical unit (<see cref="LuState"/>). The single-node implementation is
/// <see cref="LocalLuContext"/>; the cluster implementation commits each change in the metadata store
/// and applies it on every node before the change completes (ARCHITECTURE.md decision 2).
/// </summary>
public interface ILuContext
{
    /// <summary>
    /// The latest applied snapshot. Read on every command without locking; never null.
    /// </summary>
    LuState Current { get; }

    /// <summary>
    /// Applies <paramref name="change"/> atomically to the latest state and returns its result once
    /// the new state is in effect (and durable where the state says it must be). The function is
    /// pure: it may be evaluated more than once (optimistic retries) and must depend only on its
    /// argument.
    /// </summary>
    ValueTask<T> ChangeAsync<T>(Func<LuState, (LuState Next, T Result)> change, CancellationToken cancellationToken = default);
}
