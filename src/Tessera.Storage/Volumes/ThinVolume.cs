using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tessera.Scsi;

namespace Tessera.Storage;

/// <summary>
/// A thin-provisioned volume on one node: one sparse file, opened once, read and written with
/// positioned I/O (pread/pwrite) straight from the caller's buffers. Unwritten and unmapped
/// ranges are file-system holes: they read as zeros and take no space. UNMAP punches holes,
/// GET LBA STATUS asks the file system where data and holes are (SEEK_DATA/SEEK_HOLE), FUA and
/// SYNCHRONIZE CACHE go through group commit (one fdatasync serves every request queued before
/// it starts). Reads and writes of page-cache data complete synchronously without allocating.
/// See docs/storage.md for the format and the durability argument.
/// </summary>
public sealed class ThinVolume : IBlockStore, IDisposable, IAsyncDisposable
{
    // Punching a very large range is a long metadata operation; keep it off the caller's thread.
    private const long OffloadUnmapBytes = 256L << 20;

    private static readonly byte[] Zeros = new byte[64 * 1024];

    private readonly SafeFileHandle _handle;
    private readonly RangeLock _locks;
    private readonly GroupCommit _commit;
    private readonly Action<string>? _log;
    private int _disposed;
    private int _punchUnsupported;
    private int _noWaitUnsupported;
    private long _coldReads;

    private ThinVolume(SafeFileHandle handle, VolumeInfo info, Action<string>? log, int regionShift)
    {
        _handle = handle;
        Info = info;
        _log = log;
        _locks = new RangeLock(regionShift);
        _commit = new GroupCommit(Sync);
    }

    /// <summary>The catalog entry this volume was opened from (name, UUID, LUN, geometry).</summary>
    public VolumeInfo Info { get; }

    /// <inheritdoc />
    public int BlockSize => Info.BlockSize;

    /// <inheritdoc />
    public long BlockCount => Info.BlockCount;

    /// <inheritdoc />
    public bool IsReadOnly => Info.ReadOnly;

    /// <summary>Bytes the file system has allocated for this volume (statx st_blocks × 512).</summary>
    public long AllocatedBytes => LibC.Statx(_handle).AllocatedBytes;

    /// <summary>
    /// Blocks per file-system allocation unit: UNMAP gives space back only for whole units, and
    /// GET LBA STATUS reports in them. A good OPTIMAL UNMAP GRANULARITY for VPD 0xB0 (SBC-4 6.6.4).
    /// </summary>
    public int UnmapGranularity { get; private set; } = 1;

    /// <inheritdoc />
    public int UnmapGranularityBlocks => UnmapGranularity;

    /// <summary>Syncs performed so far (group-commit measurements).</summary>
    internal long SyncCount => _commit.SyncCount;

    /// <summary>Reads that had to go to the disk on the thread pool.</summary>
    internal long ColdReads => Interlocked.Read(ref _coldReads);

    /// <summary>Flush requests received so far (group-commit measurements).</summary>
    internal long FlushRequestCount => _commit.RequestCount;

    /// <summary>Test hook: runs inside COMPARE AND WRITE after a successful compare, before the write, with the range locked.</summary>
    internal Action? CompareAndWriteHook { get; set; }

    /// <summary>Creates the sparse backing file of <paramref name="sizeBytes"/> and makes its existence durable.</summary>
    internal static void CreateFile(string path, long sizeBytes)
    {
        using (SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            RandomAccess.SetLength(handle, sizeBytes);
            RandomAccess.FlushToDisk(handle);
        }
        LibC.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Opens the backing file of <paramref name="info"/>. A writable volume is locked exclusively
    /// (flock), so a second node process on the same data directory cannot serve it too.
    /// </summary>
    internal static ThinVolume Open(string path, VolumeInfo info, Action<string>? log = null, int regionShift = 20)
    {
        if (!File.Exists(path))
        {
            throw new StorageException($"volume '{info.Name}': backing file '{path}' is missing");
        }

        SafeFileHandle handle;
        try
        {
            handle = info.ReadOnly
                ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read)
                : File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new StorageException($"volume '{info.Name}' cannot be opened (is another node process serving it?): {ex.Message}", ex);
        }

        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length != info.SizeBytes)
            {
                throw new StorageException($"volume '{info.Name}': backing file '{path}' has {length} bytes but the catalog says {info.SizeBytes}");
            }
            int allocationUnit = LibC.Statx(handle).IoBlockSize;
            return new ThinVolume(handle, info, log, regionShift)
            {
                UnmapGranularity = Math.Max(1, allocationUnit / info.BlockSize),
            };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Data in the page cache is copied on the caller's thread and the call completes synchronously.
    /// Data that must come from the disk is read on the thread pool (preadv2 with RWF_NOWAIT tells
    /// the two apart), so a cold read never stalls the caller's I/O loop.
    /// </remarks>
    public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        ulong stripes;
        long offset;
        int cached;
        try
        {
            offset = CheckRange(lba, destination.Length);
            stripes = _locks.EnterShared(offset, destination.Length);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }

        try
        {
            cached = ReadCached(destination.Span, offset);
            if (cached == destination.Length)
            {
                _locks.ExitShared(stripes);
                return default;
            }
        }
        catch (Exception ex)
        {
            _locks.ExitShared(stripes);
            return ValueTask.FromException(ex);
        }

        return ReadFromDisk(destination[cached..], offset + cached, stripes);
    }

    // The rest must come from the disk: off this thread, still holding the (not thread-affine) range
    // lock. A separate method so the closure is allocated only on this path.
    private ValueTask ReadFromDisk(Memory<byte> destination, long offset, ulong stripes)
    {
        Interlocked.Increment(ref _coldReads);
        return new ValueTask(Task.Run(() =>
        {
            try
            {
                ReadAt(destination.Span, offset);
            }
            finally
            {
                _locks.ExitShared(stripes);
            }
        }, CancellationToken.None));
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        try
        {
            CheckWritable();
            long offset = CheckRange(lba, source.Length);
            ulong stripes = _locks.EnterShared(offset, source.Length);
            try
            {
                RandomAccess.Write(_handle, source.Span, offset);
            }
            finally
            {
                _locks.ExitShared(stripes);
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
        // SBC-4 5.42 (WRITE 16, FUA): the write completes only once the data is on stable storage.
        return (flags & WriteFlags.Fua) != 0 ? _commit.FlushAsync() : default;
    }

    /// <inheritdoc />
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException(new ObjectDisposedException(nameof(ThinVolume), $"volume '{Info.Name}' is closed"));
        }
        return IsReadOnly ? default : _commit.FlushAsync();
    }

    /// <inheritdoc />
    public ValueTask UnmapAsync(long lba, long blockCount, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        long offset, length;
        try
        {
            CheckWritable();
            if (blockCount < 0 || blockCount > BlockCount)
            {
                throw new ArgumentOutOfRangeException(nameof(blockCount), blockCount, $"volume '{Info.Name}' has {BlockCount} blocks");
            }
            offset = CheckLba(lba, blockCount);
            length = blockCount * BlockSize;
            if (length == 0)
            {
                return default;
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }

        if (length >= OffloadUnmapBytes)
        {
            return new ValueTask(Task.Run(() => Deallocate(offset, length), CancellationToken.None));
        }
        try
        {
            Deallocate(offset, length);
            return default;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CompareAndWriteAsync(long lba, ReadOnlyMemory<byte> compare, ReadOnlyMemory<byte> write, WriteFlags flags, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }
        int miscompare;
        try
        {
            CheckWritable();
            if (compare.Length != write.Length)
            {
                throw new ArgumentException($"compare ({compare.Length} bytes) and write ({write.Length} bytes) buffers differ in length", nameof(write));
            }
            long offset = CheckRange(lba, compare.Length);
            int length = compare.Length;
            byte[] current = ArrayPool<byte>.Shared.Rent(length);
            ulong stripes = _locks.EnterExclusive(offset, length);
            try
            {
                Span<byte> stored = current.AsSpan(0, length);
                ReadAt(stored, offset);
                int common = compare.Span.CommonPrefixLength(stored);
                if (common < length)
                {
                    miscompare = common;
                }
                else
                {
                    CompareAndWriteHook?.Invoke();
                    RandomAccess.Write(_handle, write.Span, offset);
                    miscompare = -1;
                }
            }
            finally
            {
                _locks.ExitExclusive(stripes);
                ArrayPool<byte>.Shared.Return(current);
            }
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }

        if (miscompare < 0 && (flags & WriteFlags.Fua) != 0)
        {
            return FlushThenSucceed(_commit.FlushAsync());
        }
        return new ValueTask<int>(miscompare);

        static async ValueTask<int> FlushThenSucceed(ValueTask flush)
        {
            await flush.ConfigureAwait(false);
            return -1;
        }
    }

    /// <inheritdoc />
    public ValueTask<LbaStatusRun> GetLbaStatusAsync(long lba, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<LbaStatusRun>(cancellationToken);
        }
        try
        {
            ThrowIfDisposed();
            if (lba < 0 || lba >= BlockCount)
            {
                throw new ArgumentOutOfRangeException(nameof(lba), lba, $"volume '{Info.Name}' has {BlockCount} blocks");
            }
            return new ValueTask<LbaStatusRun>(ProvisioningStatus(lba));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<LbaStatusRun>(ex);
        }
    }

    /// <summary>Flushes outstanding writes and closes the file.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            if (!IsReadOnly)
            {
                _commit.Flush();
            }
        }
        catch (Exception ex)
        {
            _log?.Invoke($"volume '{Info.Name}': final flush failed: {ex.Message}");
        }
        finally
        {
            _handle.Dispose();
        }
    }

    /// <summary>Flushes outstanding writes (off the caller's thread) and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        if (!IsReadOnly)
        {
            try
            {
                await _commit.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _log?.Invoke($"volume '{Info.Name}': final flush failed: {ex.Message}");
            }
        }
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _handle.Dispose();
        }
    }

    /// <summary>
    /// SBC-4 5.6: the run of blocks starting at <paramref name="lba"/> that are all mapped or all
    /// deallocated. A block is mapped when any byte of it is file data (rounding data starts down
    /// and hole starts up to whole blocks).
    /// </summary>
    private LbaStatusRun ProvisioningStatus(long lba)
    {
        int blockSize = BlockSize;
        long offset = lba * blockSize;
        long data = LibC.lseek(_handle, offset, LibC.SEEK_DATA);
        if (data < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == LibC.ENXIO)
            {
                // No data at or after offset: the rest of the volume is one hole.
                return new LbaStatusRun(lba, BlockCount - lba, Mapped: false);
            }
            throw new IOException($"lseek(SEEK_DATA) on volume '{Info.Name}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
        }

        long firstDataBlock = data / blockSize;
        if (firstDataBlock > lba)
        {
            return new LbaStatusRun(lba, Math.Min(firstDataBlock, BlockCount) - lba, Mapped: false);
        }

        long hole = LibC.lseek(_handle, Math.Max(data, offset), LibC.SEEK_HOLE);
        if (hole < 0)
        {
            throw LibC.LastError($"lseek(SEEK_HOLE) on volume '{Info.Name}'");
        }
        long endBlock = Math.Min((hole + blockSize - 1) / blockSize, BlockCount);
        return new LbaStatusRun(lba, Math.Max(endBlock - lba, 1), Mapped: true);
    }

    private void Deallocate(long offset, long length)
    {
        ulong stripes = _locks.EnterShared(offset, length);
        try
        {
            if (Volatile.Read(ref _punchUnsupported) == 0)
            {
                if (LibC.fallocate(_handle, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length) == 0)
                {
                    // The extent map changed; make the next sync a full fsync so the hole is durable too.
                    _commit.MarkMetadataDirty();
                    return;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno is not (LibC.EOPNOTSUPP or LibC.ENOSYS or LibC.EINVAL))
                {
                    throw new IOException($"fallocate(PUNCH_HOLE) on volume '{Info.Name}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
                }
                Volatile.Write(ref _punchUnsupported, 1);
                _log?.Invoke($"volume '{Info.Name}': the file system cannot punch holes ({Marshal.GetPInvokeErrorMessage(errno)}); UNMAP writes zeros instead and gives no space back");
            }
            for (long done = 0; done < length;)
            {
                int chunk = (int)Math.Min(Zeros.Length, length - done);
                RandomAccess.Write(_handle, Zeros.AsSpan(0, chunk), offset + done);
                done += chunk;
            }
        }
        finally
        {
            _locks.ExitShared(stripes);
        }
    }

    private void Sync(bool full)
    {
        int rc = full ? LibC.fsync(_handle) : LibC.fdatasync(_handle);
        if (rc != 0)
        {
            throw LibC.LastError(full ? $"fsync of volume '{Info.Name}'" : $"fdatasync of volume '{Info.Name}'");
        }
    }

    /// <summary>
    /// Copies what the page cache holds, from the start of <paramref name="destination"/>, without
    /// waiting for the disk; returns the bytes copied (all of them when everything was cached).
    /// </summary>
    private unsafe int ReadCached(Span<byte> destination, long offset)
    {
        if (Volatile.Read(ref _noWaitUnsupported) != 0)
        {
            ReadAt(destination, offset);
            return destination.Length;
        }
        int done = 0;
        fixed (byte* start = destination)
        {
            while (done < destination.Length)
            {
                var vector = new LibC.IoVec { Base = start + done, Length = (nuint)(destination.Length - done) };
                nint read = LibC.preadv2(_handle, &vector, 1, offset + done, LibC.RWF_NOWAIT);
                if (read > 0)
                {
                    done += (int)read;
                    continue;
                }
                if (read == 0)
                {
                    // End of file cannot happen (fixed length); read as zeros anyway.
                    destination[done..].Clear();
                    return destination.Length;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EAGAIN)
                {
                    return done;
                }
                if (errno == LibC.EINTR)
                {
                    continue;
                }
                if (errno is LibC.EOPNOTSUPP or LibC.ENOSYS or LibC.EINVAL)
                {
                    // Kernel or file system without RWF_NOWAIT: plain blocking reads from now on.
                    Volatile.Write(ref _noWaitUnsupported, 1);
                    ReadAt(destination[done..], offset + done);
                    return destination.Length;
                }
                throw new IOException($"read of volume '{Info.Name}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
            }
        }
        return done;
    }

    /// <summary>Test hook: drops the volume's clean pages from the page cache so the next read is cold.</summary>
    internal void DropPageCache()
    {
        LibC.fdatasync(_handle);
        LibC.posix_fadvise(_handle, 0, 0, LibC.POSIX_FADV_DONTNEED);
    }

    private void ReadAt(Span<byte> destination, long offset)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(_handle, destination, offset);
            if (read == 0)
            {
                // Past the end of the file cannot happen (the length is fixed); read as zeros anyway.
                destination.Clear();
                return;
            }
            destination = destination[read..];
            offset += read;
        }
    }

    private long CheckRange(long lba, int byteCount)
    {
        if (byteCount % BlockSize != 0)
        {
            throw new ArgumentException($"transfer of {byteCount} bytes is not a whole number of {BlockSize}-byte blocks", nameof(byteCount));
        }
        return CheckLba(lba, byteCount / BlockSize);
    }

    private long CheckLba(long lba, long blockCount)
    {
        ThrowIfDisposed();
        if (lba < 0 || lba > BlockCount - blockCount)
        {
            throw new ArgumentOutOfRangeException(nameof(lba), lba, $"blocks {lba}..{lba + blockCount - 1} are outside volume '{Info.Name}' ({BlockCount} blocks)");
        }
        return lba * BlockSize;
    }

    private void CheckWritable()
    {
        if (IsReadOnly)
        {
            throw new InvalidOperationException($"volume '{Info.Name}' is read-only");
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(nameof(ThinVolume), $"volume '{Info.Name}' is closed");
        }
    }
}
