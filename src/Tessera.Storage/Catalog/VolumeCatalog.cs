using System.Text.Json;

namespace Tessera.Storage;

/// <summary>
/// The volumes of one data directory: <c>catalog.json</c> (the manifest), <c>catalog.lock</c>
/// (serialises changes between processes) and <c>volumes/&lt;uuid&gt;.vol</c> (one sparse file per
/// volume). Changes are read-modify-write under the lock and committed with an atomic, durable
/// file replacement, so the CLI and a running node may change the catalog at the same time.
/// A node learns about other processes' changes through <see cref="Changed"/> (polled once a
/// second while someone is subscribed) or by calling <see cref="Reload"/>.
/// </summary>
public sealed class VolumeCatalog : IDisposable
{
    /// <summary>Longest volume name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Highest LUN handed out (SAM-5 single-level flat space addressing: 14 bits).</summary>
    public const int MaxLun = 16383;

    /// <summary>Default logical block length.</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>Largest physical block length (<see cref="VolumeInfo.PhysicalBlockSize"/>).</summary>
    public const int MaxPhysicalBlockSize = 64 * 1024;

    internal const string ManifestFileName = "catalog.json";
    internal const string LockFileName = "catalog.lock";
    internal const string VolumesDirectoryName = "volumes";
    internal const string VolumeFileExtension = ".vol";

    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Action<string>? _log;
    private CatalogManifest _manifest;
    private LibC.StatxResult _stamp;
    private Timer? _poll;
    private EventHandler? _changed;
    private bool _disposed;
    private int _polling;

    /// <summary>
    /// Opens (creating when missing) the catalog in <paramref name="dataDirectory"/>, removing
    /// leftovers of an interrupted change: temporary manifests and volume files the manifest
    /// does not list.
    /// </summary>
    /// <param name="dataDirectory">The node's data directory.</param>
    /// <param name="log">Receives one-line notices (cleanups, fallbacks); may be null.</param>
    public VolumeCatalog(string dataDirectory, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        DataDirectory = Path.GetFullPath(dataDirectory);
        _log = log;
        try
        {
            Directory.CreateDirectory(DataDirectory);
            Directory.CreateDirectory(VolumesDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StorageException($"cannot create data directory '{DataDirectory}': {ex.Message}", ex);
        }

        using (AcquireLock())
        {
            int removed = AtomicFile.CleanTemporaries(ManifestPath);
            if (removed > 0)
            {
                _log?.Invoke($"removed {removed} temporary catalog file(s) left by an interrupted write");
            }
            (_manifest, _stamp) = ReadManifest();
            RemoveOrphanVolumeFiles(_manifest);
        }
    }

    /// <summary>The data directory (absolute).</summary>
    public string DataDirectory { get; }

    /// <summary>Raised after the catalog changed, by this instance or (polled every second) by another process.</summary>
    public event EventHandler? Changed
    {
        add
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _changed += value;
                _poll ??= new Timer(static state => ((VolumeCatalog)state!).Poll(), this, PollInterval, PollInterval);
            }
        }
        remove
        {
            lock (_gate)
            {
                _changed -= value;
            }
        }
    }

    internal string ManifestPath => Path.Combine(DataDirectory, ManifestFileName);

    internal string VolumesDirectory => Path.Combine(DataDirectory, VolumesDirectoryName);

    /// <summary>Manifest generation last seen (grows by one per change).</summary>
    internal long Generation
    {
        get
        {
            lock (_gate)
            {
                return _manifest.Generation;
            }
        }
    }

    /// <summary>The volumes, ordered by LUN, as of the last load, change or <see cref="Reload"/>.</summary>
    public IReadOnlyList<VolumeInfo> List()
    {
        lock (_gate)
        {
            return [.. _manifest.Volumes.OrderBy(v => v.Lun)];
        }
    }

    /// <summary>The volume named <paramref name="name"/>, or a <see cref="StorageException"/>.</summary>
    public VolumeInfo Get(string name)
        => TryGet(name, out VolumeInfo? info) ? info : throw new StorageException($"no volume named '{name}'");

    /// <summary>Looks up a volume by exact name.</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out VolumeInfo? info)
    {
        lock (_gate)
        {
            info = _manifest.Volumes.Find(v => v.Name == name);
            return info is not null;
        }
    }

    /// <summary>
    /// Creates a thin volume: validates, picks the lowest free LUN and a new UUID, creates the
    /// sparse file, then commits the manifest. Throws <see cref="StorageException"/> with a
    /// precise message for a bad name, size, block size or physical block size, or a duplicate name.
    /// A <paramref name="physicalBlockSize"/> of 0 means "the same as <paramref name="blockSize"/>".
    /// </summary>
    public VolumeInfo Create(string name, long sizeBytes, int blockSize = DefaultBlockSize, bool readOnly = false, int physicalBlockSize = 0,
        int dataColumns = VolumeInfo.DefaultDataColumns)
    {
        if (dataColumns is < VolumeInfo.MinDataColumns or > VolumeInfo.MaxDataColumns)
        {
            throw new StorageException($"volume '{name}': data columns must be {VolumeInfo.MinDataColumns} to {VolumeInfo.MaxDataColumns}, not {dataColumns}");
        }
        if (physicalBlockSize == 0)
        {
            physicalBlockSize = blockSize;
        }
        ValidateName(name);
        ValidateGeometry(name, sizeBytes, blockSize, physicalBlockSize);

        VolumeInfo created;
        using (AcquireLock())
        {
            var (manifest, _) = ReadManifest();
            VolumeInfo? clash = manifest.Volumes.Find(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));
            if (clash is not null)
            {
                throw new StorageException(clash.Name == name
                    ? $"a volume named '{name}' already exists"
                    : $"a volume named '{clash.Name}' already exists (names differ only in case)");
            }

            int lun = LowestFreeLun(manifest);
            created = new VolumeInfo(name, Guid.NewGuid(), sizeBytes, blockSize, readOnly, lun, TruncateToMilliseconds(DateTimeOffset.UtcNow))
            {
                PhysicalBlockSize = physicalBlockSize,
                DataColumns = dataColumns,
            };
            string path = VolumePath(created.Id);
            try
            {
                ThinVolume.CreateFile(path, sizeBytes);
            }
            catch (IOException ex)
            {
                TryDeleteFile(path);
                throw new StorageException($"cannot create volume '{name}' of {sizeBytes} bytes: {ex.Message}", ex);
            }

            var next = new CatalogManifest { Generation = manifest.Generation + 1, Volumes = [.. manifest.Volumes, created] };
            try
            {
                WriteManifest(next);
            }
            catch
            {
                TryDeleteFile(path);
                throw;
            }
            Adopt(next);
        }
        RaiseChanged();
        return created;
    }

    /// <summary>
    /// Deletes a volume: commits the manifest without it, then removes its file (a node that
    /// still has it open keeps a valid handle until it closes the volume).
    /// </summary>
    public void Delete(string name)
    {
        using (AcquireLock())
        {
            var (manifest, _) = ReadManifest();
            VolumeInfo victim = manifest.Volumes.Find(v => v.Name == name)
                ?? throw new StorageException($"no volume named '{name}'");
            var next = new CatalogManifest
            {
                Generation = manifest.Generation + 1,
                Volumes = manifest.Volumes.Where(v => v.Id != victim.Id).ToList(),
            };
            WriteManifest(next);
            Adopt(next);

            // After the manifest commit: a crash here leaves an orphan file, removed at next open.
            TryDeleteFile(VolumePath(victim.Id));
            LibC.FsyncDirectory(VolumesDirectory);
        }
        RaiseChanged();
    }

    /// <summary>Opens the named volume for I/O (exclusively unless it is read-only). Dispose it to close.</summary>
    public ThinVolume Open(string name)
    {
        VolumeInfo info = Get(name);
        return ThinVolume.Open(VolumePath(info.Id), info, _log);
    }

    /// <summary>Bytes the file system holds for the named volume (works while a node has it open).</summary>
    public long GetAllocatedBytes(string name)
    {
        VolumeInfo info = Get(name);
        return LibC.TryStatx(VolumePath(info.Id), out LibC.StatxResult stat)
            ? stat.AllocatedBytes
            : throw new StorageException($"volume '{name}': backing file '{VolumePath(info.Id)}' is missing");
    }

    /// <summary>
    /// Re-reads the manifest if its file changed since last seen. Returns true (and raises
    /// <see cref="Changed"/>) when the catalog content changed.
    /// </summary>
    public bool Reload()
    {
        if (!LibC.TryStatx(ManifestPath, out LibC.StatxResult stamp))
        {
            stamp = default;
        }
        lock (_gate)
        {
            if (stamp == _stamp)
            {
                return false;
            }
        }

        var (manifest, readStamp) = ReadManifest();
        bool changed;
        lock (_gate)
        {
            _stamp = readStamp;
            // Generations only grow: a slower concurrent reader (or our own write racing this read)
            // must not put an older manifest back.
            changed = manifest.Generation > _manifest.Generation;
            if (changed)
            {
                _manifest = manifest;
            }
        }
        if (changed)
        {
            RaiseChanged();
        }
        return changed;
    }

    /// <summary>Stops change polling.</summary>
    public void Dispose()
    {
        Timer? poll;
        lock (_gate)
        {
            _disposed = true;
            poll = _poll;
            _poll = null;
            _changed = null;
        }
        poll?.Dispose();
    }

    /// <summary>Checks a volume name: 1..64 characters of [A-Za-z0-9._-].</summary>
    internal static void ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            throw new StorageException($"invalid volume name '{name}': must be 1 to {MaxNameLength} characters");
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                throw new StorageException($"invalid volume name '{name}': character '{c}' is not allowed (use letters, digits, '.', '_' and '-')");
            }
        }
    }

    internal static void ValidateGeometry(string name, long sizeBytes, int blockSize, int physicalBlockSize)
    {
        if (blockSize is not (512 or 4096))
        {
            throw new StorageException($"invalid block size {blockSize} for volume '{name}': must be 512 or 4096");
        }
        // SBC-4 5.21.2: the physical block holds 2^LBPPBE logical blocks.
        if (physicalBlockSize < blockSize || physicalBlockSize > MaxPhysicalBlockSize || !int.IsPow2(physicalBlockSize))
        {
            throw new StorageException($"invalid physical block size {physicalBlockSize} for volume '{name}': must be a power-of-two multiple of the {blockSize}-byte block size, at most {MaxPhysicalBlockSize}");
        }
        if (sizeBytes <= 0)
        {
            throw new StorageException($"invalid size {sizeBytes} for volume '{name}': must be greater than zero");
        }
        if (sizeBytes % blockSize != 0)
        {
            throw new StorageException($"invalid size {sizeBytes} for volume '{name}': not a multiple of the {blockSize}-byte block size");
        }
    }

    internal string VolumePath(Guid id) => Path.Combine(VolumesDirectory, id.ToString("D") + VolumeFileExtension);

    private static int LowestFreeLun(CatalogManifest manifest)
    {
        var used = new HashSet<int>(manifest.Volumes.Select(v => v.Lun));
        for (int lun = 0; lun <= MaxLun; lun++)
        {
            if (!used.Contains(lun))
            {
                return lun;
            }
        }
        throw new StorageException($"no free LUN: the catalog already holds {MaxLun + 1} volumes");
    }

    // JSON round-trips milliseconds exactly; keeping the in-memory value identical avoids surprises in equality.
    private static DateTimeOffset TruncateToMilliseconds(DateTimeOffset t)
        => new(t.Ticks - t.Ticks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    private FileLock AcquireLock() => FileLock.Acquire(Path.Combine(DataDirectory, LockFileName), LockTimeout);

    private (CatalogManifest Manifest, LibC.StatxResult Stamp) ReadManifest()
    {
        string path = ManifestPath;
        byte[] bytes;
        LibC.StatxResult stamp;
        try
        {
            // Open once and stat the same descriptor, so the stamp matches the bytes read.
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stamp = LibC.Statx(handle);
            bytes = new byte[RandomAccess.GetLength(handle)];
            int total = 0;
            while (total < bytes.Length)
            {
                int n = RandomAccess.Read(handle, bytes.AsSpan(total), total);
                if (n == 0)
                {
                    break;
                }
                total += n;
            }
        }
        catch (FileNotFoundException)
        {
            return (new CatalogManifest(), default);
        }

        CatalogManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, StorageJsonContext.Default.CatalogManifest);
        }
        catch (JsonException ex)
        {
            throw new StorageException($"catalog '{path}' is unreadable: {ex.Message}", ex);
        }
        if (manifest is null)
        {
            throw new StorageException($"catalog '{path}' is unreadable: it holds JSON null");
        }
        ValidateManifest(path, manifest);
        return (manifest, stamp);
    }

    private static void ValidateManifest(string path, CatalogManifest manifest)
    {
        if (manifest.Version > CatalogManifest.CurrentVersion)
        {
            throw new StorageException($"catalog '{path}' has format version {manifest.Version}; this build reads up to {CatalogManifest.CurrentVersion}");
        }
        manifest.Volumes ??= [];
        var names = new HashSet<string>(StringComparer.Ordinal);
        var luns = new HashSet<int>();
        var ids = new HashSet<Guid>();
        foreach (VolumeInfo v in manifest.Volumes)
        {
            try
            {
                ValidateName(v.Name);
                ValidateGeometry(v.Name, v.SizeBytes, v.BlockSize, v.PhysicalBlockSize);
            }
            catch (StorageException ex)
            {
                throw new StorageException($"catalog '{path}' is invalid: {ex.Message}", ex);
            }
            if (!names.Add(v.Name) || !luns.Add(v.Lun) || !ids.Add(v.Id) || v.Lun is < 0 or > MaxLun)
            {
                throw new StorageException($"catalog '{path}' is invalid: volume '{v.Name}' repeats a name, LUN or UUID, or has LUN {v.Lun} outside 0..{MaxLun}");
            }
        }

        // A catalog written before physicalBlockSize existed omits it: store the default explicitly,
        // so an entry compares equal to the same volume read back after the next write.
        manifest.Volumes = [.. manifest.Volumes.Select(v => v with { PhysicalBlockSize = v.PhysicalBlockSize })];
    }

    private void WriteManifest(CatalogManifest manifest)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(manifest, StorageJsonContext.Default.CatalogManifest);
        try
        {
            AtomicFile.Write(ManifestPath, json);
        }
        catch (IOException ex)
        {
            throw new StorageException($"cannot write catalog '{ManifestPath}': {ex.Message}", ex);
        }
    }

    private void Adopt(CatalogManifest manifest)
    {
        lock (_gate)
        {
            _manifest = manifest;
            // Forget the file stamp rather than stat the file again: another process may already have
            // replaced it, and the next poll must not mistake that file for ours. Re-reading our own
            // file costs one read and raises nothing (same generation).
            _stamp = default;
        }
    }

    private void RemoveOrphanVolumeFiles(CatalogManifest manifest)
    {
        var known = new HashSet<Guid>(manifest.Volumes.Select(v => v.Id));
        foreach (string file in Directory.EnumerateFiles(VolumesDirectory, "*" + VolumeFileExtension))
        {
            if (Guid.TryParseExact(Path.GetFileNameWithoutExtension(file), "D", out Guid id) && !known.Contains(id))
            {
                TryDeleteFile(file);
                _log?.Invoke($"removed volume file '{file}' that the catalog does not list (left by an interrupted create or delete)");
            }
        }
    }

    private void Poll()
    {
        // Timer callbacks may overlap when a reload is slow; one at a time is enough.
        if (Interlocked.Exchange(ref _polling, 1) != 0)
        {
            return;
        }
        try
        {
            Reload();
        }
        catch (Exception ex)
        {
            _log?.Invoke($"catalog reload failed: {ex.Message}");
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    private void RaiseChanged()
    {
        EventHandler? handlers;
        lock (_gate)
        {
            handlers = _changed;
        }
        handlers?.Invoke(this, EventArgs.Empty);
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: an undeleted file is an orphan, removed the next time the catalog opens.
        }
    }
}
