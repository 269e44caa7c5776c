namespace Tessera.Storage;

/// <summary>
/// A user-facing storage error (bad name, bad size, unknown volume, locked catalog, corrupt file).
/// The message is one complete sentence fit for a CLI's one-line error.
/// </summary>
public sealed class StorageException : Exception
{
    public StorageException(string message) : base(message)
    {
    }

    public StorageException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
