using System.Buffers.Binary;
using System.Diagnostics;

namespace Tessera.Storage.Tests;

public class CrashConsistencyTests
{
    [Fact]
    public void ACrashBetweenTemporaryWriteAndRenameKeepsTheOldCatalogAndCleansUp()
    {
        using var dir = new TempDirectory();
        VolumeInfo kept;
        string manifest;
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            kept = catalog.Create("kept", 1 << 20);
            manifest = catalog.ManifestPath;
        }
        string before = File.ReadAllText(manifest);

        // The crashed writer got as far as a durable temporary file, never the rename.
        string temporary = AtomicFile.WriteTemporary(manifest, """{ "version": 1, "generation": 99, "volumes": [] }"""u8);
        Assert.True(File.Exists(temporary));

        using var reopened = new VolumeCatalog(dir.Path);
        Assert.Equal([kept], reopened.List());
        Assert.Equal(before, File.ReadAllText(manifest));
        Assert.False(File.Exists(temporary));
    }

    [Fact]
    public void TruncatedOrGarbageTemporariesAreIgnoredAndRemoved()
    {
        using var dir = new TempDirectory();
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            catalog.Create("v", 1 << 20);
        }
        string manifest = Path.Combine(dir.Path, VolumeCatalog.ManifestFileName);
        File.WriteAllText(manifest + ".tmp-4242-deadbeef", "{ \"version\": 1, \"volu");
        File.WriteAllBytes(manifest + ".tmp-1-00000000", [0xFF, 0x00, 0x13]);
        var notices = new List<string>();

        using var reopened = new VolumeCatalog(dir.Path, notices.Add);
        Assert.Equal("v", Assert.Single(reopened.List()).Name);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
        Assert.Contains(notices, n => n.Contains("removed 2 temporary catalog file(s)"));
        reopened.Create("w", 1 << 20);
        Assert.Equal(2, reopened.List().Count);
    }

    [Fact]
    public void AVolumeFileWithoutACatalogEntryIsRemovedAtOpen()
    {
        using var dir = new TempDirectory();
        string orphan;
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            catalog.Create("v", 1 << 20);
            // A create that crashed after making its file but before committing the manifest.
            orphan = catalog.VolumePath(Guid.NewGuid());
            ThinVolume.CreateFile(orphan, 1 << 20);
        }
        string unrelated = Path.Combine(dir.Path, VolumeCatalog.VolumesDirectoryName, "README.txt");
        File.WriteAllText(unrelated, "not ours");

        using var reopened = new VolumeCatalog(dir.Path);
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(unrelated));
        Assert.True(File.Exists(reopened.VolumePath(reopened.Get("v").Id)));
    }

    [Fact]
    public void AHandEditedCorruptCatalogIsReportedNeverSilentlyReset()
    {
        using var dir = new TempDirectory();
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            catalog.Create("v", 1 << 20);
        }
        string manifest = Path.Combine(dir.Path, VolumeCatalog.ManifestFileName);
        File.WriteAllText(manifest, "{ not json");
        var ex = Assert.Throws<StorageException>(() => new VolumeCatalog(dir.Path));
        Assert.Contains("catalog.json' is unreadable", ex.Message);
        Assert.Equal("{ not json", File.ReadAllText(manifest));
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, VolumeCatalog.VolumesDirectoryName)));
    }

    [Fact]
    public void ACatalogFromANewerFormatIsRefused()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, VolumeCatalog.ManifestFileName), """{ "version": 2, "generation": 1, "volumes": [] }""");
        Assert.Contains("format version 2", Assert.Throws<StorageException>(() => new VolumeCatalog(dir.Path)).Message);
    }

    [Fact]
    public async Task KillingTheProcessMidChurnNeverLeavesTheCatalogUnreadable()
    {
        using var dir = new TempDirectory();
        var random = new Random();
        for (int round = 0; round < 3; round++)
        {
            long lastCommitted = await RunAndKill(["catalog-churn", dir.Path], minimumLines: 5 + random.Next(40));

            using var catalog = new VolumeCatalog(dir.Path);
            IReadOnlyList<VolumeInfo> volumes = catalog.List();
            // The last acknowledged create survives; only the next step (create churn-N+1, then delete churn-N) may have removed it.
            Assert.True(catalog.TryGet($"churn-{lastCommitted}", out _) || catalog.TryGet($"churn-{lastCommitted + 1}", out _),
                $"committed volume churn-{lastCommitted} is missing after kill -9");
            Assert.False(catalog.TryGet($"churn-{lastCommitted + 2}", out _));
            // Catalog and volume files agree exactly: no orphan, no missing file.
            string[] files = Directory.GetFiles(catalog.VolumesDirectory).Select(Path.GetFileName).Order().ToArray()!;
            Assert.Equal(volumes.Select(v => v.Id.ToString("D") + ".vol").Order(), files);
            Assert.Equal(volumes.Count, volumes.Select(v => v.Lun).Distinct().Count());
            Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
            foreach (VolumeInfo v in volumes.ToList())
            {
                catalog.Delete(v.Name);
            }
        }
    }

    [Fact]
    public async Task FuaAcknowledgedWritesSurviveKillDashNine()
    {
        using var dir = new TempDirectory();
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            catalog.Create("fua", CrashChild.Blocks * (long)CrashChild.BlockSize, blockSize: CrashChild.BlockSize);
        }

        long lastAcked = await RunAndKill(["fua-writer", dir.Path, "fua"], minimumLines: 300 + new Random().Next(500));

        using var reopened = new VolumeCatalog(dir.Path);
        using ThinVolume volume = reopened.Open("fua");
        byte[] block = new byte[CrashChild.BlockSize];
        byte[] expected = new byte[CrashChild.BlockSize];
        // The last acknowledged write to each block is there (or one issued after it, never an older one).
        for (long sequence = Math.Max(1, lastAcked - CrashChild.Blocks + 1); sequence <= lastAcked; sequence++)
        {
            await volume.ReadAsync(sequence % CrashChild.Blocks, block);
            long stored = BinaryPrimitives.ReadInt64LittleEndian(block);
            Assert.True(stored == sequence || stored == sequence + CrashChild.Blocks,
                $"block {sequence % CrashChild.Blocks}: acknowledged write {sequence} lost (found {stored})");
            CrashChild.Fill(expected, stored);
            Assert.Equal(expected, block);
        }
    }

    /// <summary>Runs a crash child until it printed <paramref name="minimumLines"/> acknowledgements, kills it with SIGKILL, returns the last acknowledged number.</summary>
    private static async Task<long> RunAndKill(string[] arguments, int minimumLines)
    {
        using Process child = CrashChild.Start(arguments);
        long last = -1;
        int lines = 0;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (lines < minimumLines)
            {
                string? line = await child.StandardOutput.ReadLineAsync(timeout.Token);
                if (line is null)
                {
                    string error = await child.StandardError.ReadToEndAsync();
                    Assert.Fail($"crash child exited early: {error}");
                }
                last = long.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                lines++;
            }
        }
        finally
        {
            child.Kill(); // SIGKILL on Linux: no finalizers, no flush, no dispose
            await child.WaitForExitAsync();
        }

        // Lines written before the kill but not yet read were also acknowledged.
        string rest = await child.StandardOutput.ReadToEndAsync();
        // Only whole lines: the kill may have cut the last one short.
        rest = rest[..(rest.LastIndexOf('\n') + 1)];
        foreach (string line in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("acked ", StringComparison.Ordinal) || line.StartsWith("committed ", StringComparison.Ordinal))
            {
                if (long.TryParse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture, out long n))
                {
                    last = n;
                }
            }
        }
        Assert.NotEqual(0, child.ExitCode);
        return last;
    }
}
