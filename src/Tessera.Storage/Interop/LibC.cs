using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tessera.Storage;

/// <summary>
/// The few Linux system calls .NET does not expose: hole punching, hole/data seeking,
/// fdatasync, advisory locks, statx and directory fsync. Constants are the Linux values
/// (identical on x86-64 and arm64 for everything used here).
/// </summary>
internal static partial class LibC
{
    private const string Library = "libc";

    internal const int EINTR = 4;
    internal const int ENXIO = 6;
    internal const int EAGAIN = 11;
    internal const int EINVAL = 22;
    internal const int ENOSYS = 38;
    internal const int EOPNOTSUPP = 95;

    internal const int SEEK_DATA = 3;
    internal const int SEEK_HOLE = 4;

    internal const int FALLOC_FL_KEEP_SIZE = 0x01;
    internal const int FALLOC_FL_PUNCH_HOLE = 0x02;

    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int LOCK_UN = 8;

    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_CLOEXEC = 0x80000;

    internal const int RWF_NOWAIT = 0x08;
    internal const int POSIX_FADV_DONTNEED = 4;

    internal const int AT_FDCWD = -100;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_MTIME = 0x40;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_SIZE = 0x200;
    internal const uint STATX_BLOCKS = 0x400;

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int fallocate(SafeFileHandle fd, int mode, long offset, long length);

    /// <summary>struct iovec.</summary>
    internal unsafe struct IoVec
    {
        internal void* Base;
        internal nuint Length;
    }

    [LibraryImport(Library, SetLastError = true)]
    internal static unsafe partial nint preadv2(SafeFileHandle fd, IoVec* iov, int iovcnt, long offset, int flags);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int posix_fadvise(SafeFileHandle fd, long offset, long length, int advice);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial long lseek(SafeFileHandle fd, long offset, int whence);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int fdatasync(SafeFileHandle fd);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int fsync(SafeFileHandle fd);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    internal static partial int fsyncFd(int fd);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int flock(int fd, int operation);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags, int mode);

    [LibraryImport(Library, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Library, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statxFd(SafeFileHandle dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>The fields of struct statx we use (its layout is fixed by the kernel ABI, unlike struct stat).</summary>
    internal readonly record struct StatxResult(ulong Inode, long Size, long AllocatedBytes, long MtimeSeconds, uint MtimeNanoseconds, int IoBlockSize);

    internal static unsafe bool TryStatx(string path, out StatxResult result)
    {
        byte* buffer = stackalloc byte[256];
        new Span<byte>(buffer, 256).Clear();
        if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_SIZE | STATX_BLOCKS | STATX_MTIME, buffer) != 0)
        {
            result = default;
            return false;
        }
        result = Decode(buffer);
        return true;
    }

    internal static unsafe StatxResult Statx(SafeFileHandle handle)
    {
        byte* buffer = stackalloc byte[256];
        new Span<byte>(buffer, 256).Clear();
        if (statxFd(handle, string.Empty, AT_EMPTY_PATH, STATX_INO | STATX_SIZE | STATX_BLOCKS | STATX_MTIME, buffer) != 0)
        {
            throw LastError("statx");
        }
        return Decode(buffer);
    }

    // struct statx (linux/stat.h): stx_blksize @4, stx_ino @32, stx_size @40, stx_blocks @48 (512-byte units), stx_mtime @112.
    private static unsafe StatxResult Decode(byte* b) => new(
        *(ulong*)(b + 32),
        *(long*)(b + 40),
        *(long*)(b + 48) * 512,
        *(long*)(b + 112),
        *(uint*)(b + 120),
        *(int*)(b + 4));

    /// <summary>fsync of a directory, so that a rename or create inside it is durable.</summary>
    internal static void FsyncDirectory(string directory)
    {
        int fd = open(directory, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw LastError($"open directory '{directory}'");
        }
        try
        {
            if (fsyncFd(fd) != 0)
            {
                throw LastError($"fsync directory '{directory}'");
            }
        }
        finally
        {
            close(fd);
        }
    }

    internal static IOException LastError(string operation)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }
}
