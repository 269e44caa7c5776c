using System.Buffers.Binary;
using Tessera.Storage;
using Xunit.Abstractions;

namespace Tessera.Scsi.Tests.Sbc;

/// <summary>A real <see cref="ThinVolume"/> in a temporary data directory, removed on dispose.</summary>
internal sealed class TempThinVolume : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-sbc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly VolumeCatalog _catalog;

    public TempThinVolume(long sizeBytes)
    {
        Directory.CreateDirectory(_directory);
        _catalog = new VolumeCatalog(_directory);
        _catalog.Create("v", sizeBytes);
        Volume = _catalog.Open("v");
    }

    public ThinVolume Volume { get; }

    public void Dispose()
    {
        Volume.Dispose();
        _catalog.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

public class ThinVolumeSpaceTests(ITestOutputHelper output)
{
    [Fact]
    public void UnmappingWrittenDataGivesTheSpaceBackReportsItDeallocatedAndReadsZeros()
    {
        const int mib = 1 << 20;
        using var temp = new TempThinVolume(512L * mib);
        var h = new SbcHarness(temp.Volume);
        int chunkBlocks = h.Lu.MaximumTransferBlocks;        // 8 MiB per WRITE
        int chunkBytes = chunkBlocks * 512;
        long dataBlocks = 256L * mib / 512;
        long baseline = temp.Volume.AllocatedBytes;

        var data = new byte[chunkBytes];
        new Random(7).NextBytes(data);
        for (long lba = 0; lba < dataBlocks; lba += chunkBlocks)
        {
            data[0] = (byte)lba; // no two chunks alike
            Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x8A, (ulong)lba, (uint)chunkBlocks), dataOut: data).Status);
        }
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x91, 0, 0)).Status); // SYNCHRONIZE CACHE(16): allocation is real on disk
        long written = temp.Volume.AllocatedBytes;

        // UNMAP the 256 MiB with 32 descriptors of 8 MiB each, one command.
        var list = SbcCdb.UnmapList(Enumerable.Range(0, 32).Select(i => ((ulong)i * (ulong)chunkBlocks, (uint)chunkBlocks)).ToArray());
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.Unmap(list.Length), dataOut: list).Status);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x91, 0, 0)).Status);
        long unmapped = temp.Volume.AllocatedBytes;
        output.WriteLine($"allocated: before {baseline} B, after writing 256 MiB {written} B ({(written - baseline) / (double)mib:F1} MiB), after UNMAP {unmapped} B ({(unmapped - baseline) / (double)mib:F2} MiB over baseline)");

        Assert.True(written - baseline >= 256L * mib, $"writing 256 MiB allocated only {written - baseline} bytes");
        Assert.True(unmapped - baseline < mib, $"after UNMAP {unmapped - baseline} bytes are still allocated");

        // GET LBA STATUS: the 256 MiB (and the never-written rest) are one deallocated run from LBA 0.
        var d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(0, 24), dataIn: 24)));
        Assert.Single(d);
        Assert.Equal(0ul, d[0].Lba);
        Assert.Equal(1, d[0].Status);
        Assert.True(d[0].Blocks >= dataBlocks);

        // Every block reads back as zeros.
        for (long lba = 0; lba < dataBlocks; lba += chunkBlocks)
        {
            var read = h.Run(Cdb.Block(0x88, (ulong)lba, (uint)chunkBlocks), dataIn: chunkBytes);
            Assert.Equal(ScsiStatus.Good, read.Status);
            Assert.True(read.DataIn.Span.IndexOfAnyExcept((byte)0) < 0, $"non-zero data at LBA {lba}");
        }
    }

    [Fact]
    public void GetLbaStatusFollowsTheFileSystemExtentsOfARealVolume()
    {
        using var temp = new TempThinVolume(16L << 20);
        var h = new SbcHarness(temp.Volume);
        int unit = Math.Max(8, temp.Volume.UnmapGranularity); // whole file-system blocks so holes are exact
        var block = new byte[unit * 512];
        block.AsSpan().Fill(1);
        Assert.Equal(ScsiStatus.Good, h.Run(Cdb.Block(0x2A, (ulong)(4 * unit), (uint)unit), dataOut: block).Status);
        var d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(0, 56), dataIn: 56)));
        Assert.Equal([(0ul, (uint)(4 * unit), 1), ((ulong)(4 * unit), (uint)unit, 0), ((ulong)(5 * unit), (uint)(temp.Volume.BlockCount - 5 * unit), 1)], d);
        // WRITE SAME with UNMAP punches it out again.
        Assert.Equal(ScsiStatus.Good, h.Run(SbcCdb.WriteSame16((ulong)(4 * unit), (uint)unit, unmap: true), dataOut: new byte[512]).Status);
        d = SbcCdb.LbaStatusDescriptors(Harness.DataIn(h.Run(SbcCdb.GetLbaStatus(0, 24), dataIn: 24)));
        Assert.Equal([(0ul, (uint)temp.Volume.BlockCount, 1)], d);
        Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(Harness.DataIn(h.Run(Cdb.Block(0x28, (ulong)(4 * unit), 1), dataIn: 512))));
    }
}
