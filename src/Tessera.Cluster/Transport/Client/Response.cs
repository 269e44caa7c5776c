using System.Buffers;
using System.Text;
using Tessera.Cluster.Transport.Protocol;

namespace Tessera.Cluster.Transport.Client;

/// <summary>
/// A peer's answer to one request: its status and payload. The payload lives in a rented array:
/// dispose the response exactly once when done with it (copies share the array).
/// </summary>
internal readonly struct Response : IDisposable
{
    private readonly byte[]? _rented;
    private readonly int _length;

    public Response(FrameStatus status, byte[]? rented, int length)
    {
        Status = status;
        _rented = rented;
        _length = length;
    }

    public FrameStatus Status { get; }

    public bool IsSuccess => Status == FrameStatus.Ok;

    public ReadOnlyMemory<byte> Payload => _rented is null ? ReadOnlyMemory<byte>.Empty : _rented.AsMemory(0, _length);

    public ReadOnlySpan<byte> Span => _rented is null ? [] : _rented.AsSpan(0, _length);

    /// <summary>The message a transport error status carries (empty for Ok).</summary>
    public string ErrorMessage => IsSuccess ? string.Empty : Encoding.UTF8.GetString(Span);

    /// <summary>Throws <see cref="RemoteFrameException"/> for any status but Ok (application statuses included).</summary>
    public void ThrowIfError()
    {
        if (!IsSuccess)
        {
            throw new RemoteFrameException(Status, Status < FrameStatus.ApplicationBase ? ErrorMessage : $"{_length} byte payload");
        }
    }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }
    }
}
