using Microsoft.Win32.SafeHandles;

namespace Tessera.Storage;

/// <summary>
/// Replaces a small file so that after a crash at any instant the path holds either the complete
/// old content or the complete new content, never a mix: write a uniquely named temporary file
/// in the same directory, fsync it, rename it over the target (rename(2) is atomic), then fsync
/// the directory so the rename itself is durable. Leftover temporaries from a crash are ignored
/// by readers (they only read the target path) and removed by <see cref="CleanTemporaries"/>.
/// </summary>
internal static class AtomicFile
{
    internal const string TemporaryMarker = ".tmp-";

    internal static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode? mode = null)
    {
        string temporary = WriteTemporary(path, content, mode);
        Commit(temporary, path);
    }

    /// <summary>First half of <see cref="Write"/>: the durable temporary file (split out so tests can crash between the halves).</summary>
    internal static string WriteTemporary(string path, ReadOnlySpan<byte> content, UnixFileMode? mode = null)
    {
        string temporary = path + TemporaryMarker + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using SafeFileHandle handle = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, preallocationSize: 0);
            if (mode is { } unixMode && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, unixMode);
            }
            RandomAccess.Write(handle, content, 0);
            RandomAccess.FlushToDisk(handle);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        return temporary;
    }

    /// <summary>Second half of <see cref="Write"/>: atomic rename, then directory fsync.</summary>
    internal static void Commit(string temporary, string path)
    {
        File.Move(temporary, path, overwrite: true);
        LibC.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Removes temporaries of <paramref name="path"/> left by a crash (caller holds the lock that serialises writers).</summary>
    internal static int CleanTemporaries(string path)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string prefix = Path.GetFileName(path) + TemporaryMarker;
        int removed = 0;
        foreach (string leftover in Directory.EnumerateFiles(directory, prefix + "*"))
        {
            if (TryDelete(leftover))
            {
                removed++;
            }
        }
        return removed;
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
