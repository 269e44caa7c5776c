using System.Text;

namespace Tessera.Storage.Tests;

public class VolumeCatalogTests
{
    [Fact]
    public void CreateListGetDeletePersistAcrossInstances()
    {
        using var dir = new TempDirectory();
        VolumeInfo a, b;
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            a = catalog.Create("alpha", 64L << 20);
            b = catalog.Create("beta", 1L << 30, blockSize: 4096, readOnly: true);
            Assert.Equal(0, a.Lun);
            Assert.Equal(1, b.Lun);
            Assert.Equal(512, a.BlockSize);
            Assert.Equal((64L << 20) / 512, a.BlockCount);
            Assert.True(b.ReadOnly);
            Assert.NotEqual(a.Id, b.Id);
        }

        using (var reopened = new VolumeCatalog(dir.Path))
        {
            Assert.Equal([a, b], reopened.List());
            Assert.Equal(b, reopened.Get("beta"));
            reopened.Delete("alpha");
            Assert.Equal([b], reopened.List());
            Assert.False(File.Exists(reopened.VolumePath(a.Id)));
        }

        using var third = new VolumeCatalog(dir.Path);
        Assert.Equal([b], third.List());
        Assert.False(third.TryGet("alpha", out _));
    }

    [Fact]
    public void LunIsTheLowestFreeNumberAndStable()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("v0", 1 << 20);
        catalog.Create("v1", 1 << 20);
        catalog.Create("v2", 1 << 20);
        catalog.Delete("v1");
        Assert.Equal(1, catalog.Create("v3", 1 << 20).Lun);
        Assert.Equal(3, catalog.Create("v4", 1 << 20).Lun);
        Assert.Equal(2, catalog.Get("v2").Lun);
    }

    [Theory]
    [InlineData("", "must be 1 to 64 characters")]
    [InlineData("has space", "character ' ' is not allowed")]
    [InlineData("slash/name", "character '/' is not allowed")]
    [InlineData("ünïcode", "character 'ü' is not allowed")]
    public void RejectsBadNames(string name, string reason)
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        var ex = Assert.Throws<StorageException>(() => catalog.Create(name, 1 << 20));
        Assert.Contains(reason, ex.Message);
        Assert.Contains($"'{name}'", ex.Message);
        Assert.Empty(catalog.List());
    }

    [Fact]
    public void AcceptsEveryAllowedCharacterAndSixtyFourCharacters()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        string longest = new('a', 64);
        catalog.Create("Az09._-", 1 << 20);
        catalog.Create(longest, 1 << 20);
        var ex = Assert.Throws<StorageException>(() => catalog.Create(longest + "b", 1 << 20));
        Assert.Contains("must be 1 to 64 characters", ex.Message);
    }

    [Theory]
    [InlineData(0L, 512, "must be greater than zero")]
    [InlineData(-4096L, 512, "must be greater than zero")]
    [InlineData(1000L, 512, "not a multiple of the 512-byte block size")]
    [InlineData(6144L, 4096, "not a multiple of the 4096-byte block size")]
    [InlineData(1L << 20, 1024, "must be 512 or 4096")]
    public void RejectsBadGeometry(long size, int blockSize, string reason)
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        var ex = Assert.Throws<StorageException>(() => catalog.Create("v", size, blockSize));
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void RejectsDuplicatesIncludingCaseVariants()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("data", 1 << 20);
        Assert.Equal("a volume named 'data' already exists", Assert.Throws<StorageException>(() => catalog.Create("data", 1 << 20)).Message);
        Assert.Contains("differ only in case", Assert.Throws<StorageException>(() => catalog.Create("DATA", 1 << 20)).Message);
        Assert.Single(catalog.List());
        Assert.Single(Directory.GetFiles(catalog.VolumesDirectory));
    }

    [Fact]
    public void DeletingOrGettingAMissingVolumeSaysSo()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        Assert.Equal("no volume named 'ghost'", Assert.Throws<StorageException>(() => catalog.Delete("ghost")).Message);
        Assert.Equal("no volume named 'ghost'", Assert.Throws<StorageException>(() => catalog.Get("ghost")).Message);
        Assert.Equal("no volume named 'ghost'", Assert.Throws<StorageException>(() => catalog.Open("ghost")).Message);
    }

    [Fact]
    public void CreatedVolumeIsSparseAndFullSize()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        VolumeInfo info = catalog.Create("big", 1L << 40);
        var file = new FileInfo(catalog.VolumePath(info.Id));
        Assert.Equal(1L << 40, file.Length);
        Assert.True(catalog.GetAllocatedBytes("big") < 1 << 20);
    }

    [Fact]
    public void ManifestIsReadableJsonWithEveryField()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        VolumeInfo info = catalog.Create("json", 8L << 20, readOnly: true);
        string json = File.ReadAllText(Path.Combine(dir.Path, "catalog.json"), Encoding.UTF8);
        Assert.Contains("\"name\": \"json\"", json);
        Assert.Contains($"\"id\": \"{info.Id:D}\"", json);
        Assert.Contains("\"sizeBytes\": 8388608", json);
        Assert.Contains("\"blockSize\": 512", json);
        Assert.Contains("\"physicalBlockSize\": 512", json);
        Assert.Contains("\"readOnly\": true", json);
        Assert.Contains("\"lun\": 0", json);
        Assert.Contains("\"created\":", json);
        Assert.DoesNotContain("blockCount", json);
    }

    [Fact]
    public void ReloadSeesChangesByAnotherInstanceAndRaisesChanged()
    {
        using var dir = new TempDirectory();
        using var node = new VolumeCatalog(dir.Path);
        using var cli = new VolumeCatalog(dir.Path);
        int raised = 0;
        node.Changed += (_, _) => Interlocked.Increment(ref raised);

        Assert.False(node.Reload());
        cli.Create("fresh", 1 << 20);
        // The poll timer may get there first; either way the node ends up seeing the volume exactly once.
        node.Reload();
        Assert.True(node.TryGet("fresh", out _));
        Assert.False(node.Reload());
        Assert.Equal(1, Volatile.Read(ref raised));
    }

    [Fact]
    public void ChangedIsPolledWithoutExplicitReload()
    {
        using var dir = new TempDirectory();
        using var node = new VolumeCatalog(dir.Path);
        using var cli = new VolumeCatalog(dir.Path);
        using var seen = new ManualResetEventSlim();
        node.Changed += (_, _) => { if (node.TryGet("polled", out _)) { seen.Set(); } };
        cli.Create("polled", 1 << 20);
        Assert.True(seen.Wait(TimeSpan.FromSeconds(30)), "the poll never noticed the new volume");
    }

    [Fact]
    public void ConcurrentCreatorsNeverLoseAVolumeOrShareALun()
    {
        using var dir = new TempDirectory();
        const int creators = 4;
        const int perCreator = 10;
        Parallel.For(0, creators, new ParallelOptions { MaxDegreeOfParallelism = creators }, c =>
        {
            // Separate instances, as separate CLI processes would be.
            using var catalog = new VolumeCatalog(dir.Path);
            for (int i = 0; i < perCreator; i++)
            {
                catalog.Create($"c{c}-v{i}", 1 << 20);
            }
        });

        using var check = new VolumeCatalog(dir.Path);
        IReadOnlyList<VolumeInfo> all = check.List();
        Assert.Equal(creators * perCreator, all.Count);
        Assert.Equal(Enumerable.Range(0, creators * perCreator), all.Select(v => v.Lun));
        Assert.Equal(creators * perCreator, Directory.GetFiles(check.VolumesDirectory).Length);
    }

    [Fact]
    public void OpenedVolumeCarriesItsCatalogEntry()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        VolumeInfo info = catalog.Create("lu", 4L << 20, blockSize: 4096);
        using ThinVolume volume = catalog.Open("lu");
        Assert.Equal(info, volume.Info);
        Assert.Equal(4096, volume.BlockSize);
        Assert.Equal(1024, volume.BlockCount);
        Assert.False(volume.IsReadOnly);
        Assert.Equal(1, volume.UnmapGranularity); // ext4/xfs/tmpfs: 4 KiB allocation unit
        VolumeInfo small = catalog.Create("small", 1L << 20);
        using ThinVolume smallVolume = catalog.Open("small");
        Assert.Equal(8, smallVolume.UnmapGranularity);
    }

    [Fact]
    public void AWritableVolumeCannotBeOpenedTwice()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("once", 1 << 20);
        using ThinVolume first = catalog.Open("once");
        var ex = Assert.Throws<StorageException>(() => catalog.Open("once"));
        Assert.Contains("'once' cannot be opened", ex.Message);
    }

    [Fact]
    public async Task DeletingAnOpenVolumeLeavesTheOpenHandleUsable()
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        catalog.Create("doomed", 1 << 20);
        using ThinVolume volume = catalog.Open("doomed");
        catalog.Delete("doomed");
        byte[] block = new byte[512];
        block[0] = 7;
        await volume.WriteAsync(0, block, Tessera.Scsi.WriteFlags.None);
        byte[] back = new byte[512];
        await volume.ReadAsync(0, back);
        Assert.Equal(7, back[0]);
    }

    [Fact]
    public void PhysicalBlockSizeDefaultsToTheBlockSizeAndPersists()
    {
        using var dir = new TempDirectory();
        VolumeInfo plain, emulated;
        using (var catalog = new VolumeCatalog(dir.Path))
        {
            plain = catalog.Create("plain", 1 << 20, blockSize: 4096);
            emulated = catalog.Create("e512", 1 << 20, physicalBlockSize: 4096);
            Assert.Equal(4096, plain.PhysicalBlockSize);
            Assert.Equal(512, emulated.BlockSize);
            Assert.Equal(4096, emulated.PhysicalBlockSize);
        }

        using var reopened = new VolumeCatalog(dir.Path);
        Assert.Equal([plain, emulated], reopened.List());
        Assert.Equal(4096, reopened.Get("e512").PhysicalBlockSize);
    }

    [Theory]
    [InlineData(512, 256)]
    [InlineData(512, 1536)]
    [InlineData(4096, 2048)]
    [InlineData(512, 128 * 1024)]
    public void RejectsBadPhysicalBlockSize(int blockSize, int physicalBlockSize)
    {
        using var dir = new TempDirectory();
        using var catalog = new VolumeCatalog(dir.Path);
        var ex = Assert.Throws<StorageException>(() => catalog.Create("v", 1 << 20, blockSize, physicalBlockSize: physicalBlockSize));
        Assert.Contains($"invalid physical block size {physicalBlockSize}", ex.Message);
        Assert.Empty(catalog.List());
    }

    [Fact]
    public void CatalogWithoutPhysicalBlockSizeLoadsWithTheBlockSize()
    {
        using var dir = new TempDirectory();
        Guid id = Guid.NewGuid();
        // A catalog as written before physicalBlockSize existed (volume file created to match).
        File.WriteAllText(Path.Combine(dir.Path, "catalog.json"), $$"""
            {
              "version": 1,
              "generation": 1,
              "volumes": [
                { "name": "old", "id": "{{id:D}}", "sizeBytes": 1048576, "blockSize": 4096, "readOnly": false, "lun": 0, "created": "2024-01-01T00:00:00+00:00" }
              ]
            }
            """);
        Directory.CreateDirectory(Path.Combine(dir.Path, "volumes"));
        File.WriteAllBytes(Path.Combine(dir.Path, "volumes", $"{id:D}.vol"), []);

        using var catalog = new VolumeCatalog(dir.Path);
        VolumeInfo old = catalog.Get("old");
        Assert.Equal(4096, old.PhysicalBlockSize);
        catalog.Create("next", 1 << 20);
        using var reopened = new VolumeCatalog(dir.Path);
        Assert.Equal(old, reopened.Get("old"));
    }
}
