using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>
/// Reads a whole file without taking a lock. .NET's FileStream and File.* take an advisory flock
/// on every open (LOCK_SH for readers), which fails with a sharing violation while the embedded
/// store holds its log with LOCK_EX — and would block that writer from reopening if it ever did.
/// open(2) directly takes no lock, so a second process can read a store a running node holds.
/// </summary>
internal static partial class UnlockedFile
{
    private const int ORdOnly = 0;
    private const int OCloexec = 0x80000; // Linux x86-64/arm64
    private const int ENOENT = 2;

    /// <summary>The file's bytes as of the read (it may grow meanwhile: reads until end of file), or null when it does not exist.</summary>
    public static byte[]? ReadAll(string path)
    {
        int fd = Open(path, ORdOnly | OCloexec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT)
            {
                return null;
            }

            throw new IOException($"open({path}) failed: errno {errno}");
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = new byte[Math.Max(4096, RandomAccess.GetLength(handle))];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            int read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
            if (read == 0)
            {
                return buffer.AsSpan(0, length).ToArray();
            }

            length += read;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
