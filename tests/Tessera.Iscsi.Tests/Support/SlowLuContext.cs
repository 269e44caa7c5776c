using Tessera.Scsi;

namespace Tessera.Iscsi.Tests.Support;

/// <summary>
/// A local LU context whose changes wait <see cref="Delay"/> before applying — a stand-in for a
/// cluster context whose commit takes a while, to show what a host can observe meanwhile.
/// </summary>
internal sealed class SlowLuContext : ILuContext
{
    private readonly LocalLuContext _inner = new();

    public TimeSpan Delay { get; set; }

    public LuState Current => _inner.Current;

    public async ValueTask<T> ChangeAsync<T>(Func<LuState, (LuState Next, T Result)> change, CancellationToken cancellationToken = default)
    {
        if (Delay > TimeSpan.Zero) await Task.Delay(Delay, cancellationToken).ConfigureAwait(false);
        return await _inner.ChangeAsync(change, cancellationToken).ConfigureAwait(false);
    }
}
