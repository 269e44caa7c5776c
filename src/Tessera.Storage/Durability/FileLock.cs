using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Tessera.Storage;

/// <summary>
/// An exclusive advisory lock (flock) on a lock file, serialising read-modify-write of the
/// catalog between processes (CLI and node) and between catalog instances in one process
/// (flock belongs to the open file description, so two opens conflict even in one process).
/// The kernel drops it when the holder dies, so a killed CLI never leaves the catalog locked.
/// </summary>
internal sealed class FileLock : IDisposable
{
    private int _fd;

    private FileLock(int fd)
    {
        _fd = fd;
    }

    internal static FileLock Acquire(string path, TimeSpan timeout)
    {
        int fd = LibC.open(path, LibC.O_RDWR | LibC.O_CREAT | LibC.O_CLOEXEC, 0x1A4 /* 0644 */);
        if (fd < 0)
        {
            throw new StorageException($"cannot open lock file '{path}': {LibC.LastError("open").Message}");
        }

        var clock = Stopwatch.StartNew();
        int delayMs = 1;
        while (true)
        {
            if (LibC.flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) == 0)
            {
                return new FileLock(fd);
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EAGAIN && errno != LibC.EINTR)
            {
                LibC.close(fd);
                throw new StorageException($"cannot lock '{path}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
            if (clock.Elapsed >= timeout)
            {
                LibC.close(fd);
                throw new StorageException($"'{path}' is locked by another process for more than {timeout.TotalSeconds:0} s; try again");
            }
            Thread.Sleep(delayMs);
            delayMs = Math.Min(delayMs * 2, 50);
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            // Closing the descriptor releases the flock.
            LibC.close(fd);
        }
    }
}
