using System.Globalization;
using System.Runtime.InteropServices;

namespace Tessera.Cluster.Metadata.Embedded;

/// <summary>
/// Which process holds an embedded store open, found without touching it: the writer keeps an
/// exclusive flock on metadata.log (<see cref="MetadataLog"/>), and Linux lists every flock in
/// /proc/locks as "FLOCK ADVISORY WRITE &lt;pid&gt; &lt;major&gt;:&lt;minor&gt;:&lt;inode&gt;". Matching the log's
/// inode there tells a reader whether the state it read is being kept current by a running
/// process — without a holder, lease-bound keys (node registrations) are left-overs of a process
/// that stopped, not live nodes.
/// </summary>
internal static partial class StoreHolder
{
    private const int AtFdcwd = -100;
    private const uint StatxIno = 0x100;

    /// <summary>The pid holding the store under <paramref name="directory"/>, or null when none does (or it cannot be told).</summary>
    public static int? Find(string directory)
    {
        if (!OperatingSystem.IsLinux() || Identify(Path.Combine(directory, MetadataLog.LogFileName)) is not { } file)
        {
            return null;
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/locks");
        }
        catch (IOException)
        {
            return null;
        }

        string id = string.Create(CultureInfo.InvariantCulture, $"{file.Major:x2}:{file.Minor:x2}:{file.Inode}");
        foreach (string line in lines)
        {
            // "1: FLOCK  ADVISORY  WRITE 2481 fe:00:11657238 0 EOF"
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 6 && f[1] == "FLOCK" && f[3] == "WRITE" && f[5] == id &&
                int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                return pid;
            }
        }

        return null;
    }

    private static unsafe (uint Major, uint Minor, ulong Inode)? Identify(string path)
    {
        // struct statx is 256 bytes with a layout fixed on every architecture: stx_ino is the u64 at
        // offset 32, stx_dev_major and stx_dev_minor the u32s at 136 and 140.
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdcwd, path, 0, StatxIno, buffer) != 0)
        {
            return null;
        }

        return (*(uint*)(buffer + 136), *(uint*)(buffer + 140), *(ulong*)(buffer + 32));
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
