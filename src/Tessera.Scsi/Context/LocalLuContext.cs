using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tessera.Scsi;

/// <summary>
/// In-process <see cref="ILuContext"/> for a single node. Changes are serialised by a lock; readers
/// see the latest snapshot through a volatile field. With a persistence path, the parts of the state
/// that must survive a restart (saved mode pages, and persistent reservations when APTPL is set) are
/// written atomically (temporary file, fsync, rename) before the change completes, and loaded at start.
/// </summary>
public sealed class LocalLuContext : ILuContext
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Lock _gate = new();
    private readonly string? _path;
    private LuState _current;

    /// <summary>Creates a context; with <paramref name="persistencePath"/> saved state is loaded from and kept in that file.</summary>
    public LocalLuContext(string? persistencePath = null)
    {
        _path = persistencePath;
        _current = LuState.Initial;
        if (_path is not null && File.Exists(_path))
        {
            var saved = Load(_path);
            // Power on: current mode pages are the saved ones (SPC-5 7.5.1).
            _current = _current with
            {
                SavedMode = saved.SavedMode,
                CurrentMode = saved.SavedMode,
                // SPC-5 6.16.2: PRgeneration is zero after power on, whatever APTPL kept.
                PersistentReservations = (saved.PersistentReservations ?? PersistentReservationState.Empty) with { Generation = 0 },
            };
        }
    }

    public LuState Current => Volatile.Read(ref _current);

    public ValueTask<T> ChangeAsync<T>(Func<LuState, (LuState Next, T Result)> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var before = _current;
            var (next, result) = change(before);
            ArgumentNullException.ThrowIfNull(next, "change(...).Next");
            if (_path is not null && PersistentPartChanged(before, next)) Save(_path, next);
            Volatile.Write(ref _current, next);
            return new ValueTask<T>(result);
        }
    }

    private static bool PersistentPartChanged(LuState before, LuState next) =>
        !before.SavedMode.Equals(next.SavedMode)
        || (!ReferenceEquals(before.PersistentReservations, next.PersistentReservations)
            && (before.PersistentReservations.Aptpl || next.PersistentReservations.Aptpl));

    private static void Save(string path, LuState state)
    {
        var doc = new PersistedLuState
        {
            SavedMode = state.SavedMode,
            // SPC-5 5.14.5: only with APTPL does PR state survive power loss.
            PersistentReservations = state.PersistentReservations.Aptpl ? state.PersistentReservations : null,
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(fs, doc, JsonOptions);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static PersistedLuState Load(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            var doc = JsonSerializer.Deserialize<PersistedLuState>(fs, JsonOptions)
                ?? throw new InvalidDataException("empty document");
            if (doc.Version != PersistedLuState.CurrentVersion) throw new InvalidDataException($"unsupported version {doc.Version}");
            foreach (var (code, image) in doc.SavedMode.Pages)
            {
                var def = ModePages.Find(code);
                if (def is null || image.Length != def.Length || image[0] != code)
                    throw new InvalidDataException($"bad saved mode page {code:X2}h");
            }
            // Pages added since the file was written start from their defaults.
            var pages = doc.SavedMode.Pages;
            foreach (var def in ModePages.All)
                if (!pages.ContainsKey(def.PageCode)) pages = pages.Add(def.PageCode, [.. def.Default]);
            return doc with { SavedMode = new ModePageSet { Pages = pages } };
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"LU context file {path} is unreadable: {e.Message}", e);
        }
    }

    /// <summary>The on-disk document: only what must survive a restart.</summary>
    internal sealed record PersistedLuState
    {
        public const int CurrentVersion = 1;
        public int Version { get; init; } = CurrentVersion;
        public ModePageSet SavedMode { get; init; } = ModePageSet.Default;
        public PersistentReservationState? PersistentReservations { get; init; }
    }
}
