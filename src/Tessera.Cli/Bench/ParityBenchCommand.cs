using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Tessera.Parity;

namespace Tessera.Cli.Bench;

/// <summary>
/// `tessera bench parity [--k 4,8,16] [--size 64KiB]`: single-thread GB/s of the double-parity
/// codec on this machine — encode, one- and two-column rebuild, and a 4 KiB partial update — with a
/// Stopwatch loop per operation. The BenchmarkDotNet suite in bench/ is the rigorous version.
/// </summary>
internal static class ParityBenchCommand
{
    private const int UpdateBytes = 4096;
    private const long MaxColumnBytes = 256L * 1024 * 1024;
    private static readonly TimeSpan Warmup = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan Measure = TimeSpan.FromMilliseconds(400);

    public static Command Create()
    {
        var k = new Option<string>("--k")
        {
            Description = "Data columns per stripe, comma-separated (2..30).",
            DefaultValueFactory = _ => "4,8,16",
            HelpName = "LIST",
        };
        k.Validators.Add(r =>
        {
            if (!TryParseKs(r.GetValueOrDefault<string>() ?? string.Empty, out _, out string? error))
            {
                r.AddError($"--k: {error}");
            }
        });

        var size = new Option<string>("--size")
        {
            Description = "Column size, e.g. 64KiB or 1MiB (comma-separated for several).",
            DefaultValueFactory = _ => "64KiB",
            HelpName = "SIZE",
        };
        size.Validators.Add(r =>
        {
            if (!TryParseSizes(r.GetValueOrDefault<string>() ?? string.Empty, out _, out string? error))
            {
                r.AddError($"--size: {error}");
            }
        });

        var command = new Command("parity", "Measure the double-parity codec (GB/s of data, one thread).") { k, size };
        command.SetAction(parse =>
        {
            if (!TryParseKs(parse.GetValue(k) ?? string.Empty, out int[]? ks, out string? error)
                || !TryParseSizes(parse.GetValue(size) ?? string.Empty, out int[]? sizes, out error))
            {
                Console.Error.WriteLine($"tessera: {error}");
                return 2;
            }

            // Each k must be able to split each column into p − 1 blocks of a multiple of 64 bytes.
            foreach (int columns in ks)
            {
                foreach (int column in sizes)
                {
                    try
                    {
                        _ = ParityGeometry.ForColumnSize(columns, column);
                    }
                    catch (ArgumentException)
                    {
                        Console.Error.WriteLine($"tessera: --size: {FormatSize(column)} does not split into p-1 blocks of a multiple of 64 bytes (p prime, p >= k+1) for k={columns}; try 64KiB or 1MiB");
                        return 2;
                    }
                }
            }

            Run(ks, sizes, Console.Out);
            return 0;
        });
        return command;
    }

    internal static void Run(IReadOnlyList<int> ks, IReadOnlyList<int> sizes, TextWriter output)
    {
        string kernel = new ParityCodec(new ParityGeometry(2, 3, 64)).Kernel;
        output.WriteLine($"RDP double parity, {kernel} kernels, 1 thread, GB/s of data (10^9 B/s)");
        output.WriteLine($"{"k",3} {"column",9} {"p",4} {"block",9} {"encode",8} {"rebuild1",9} {"rebuild2",9} {"update4K",9}  check");
        foreach (int column in sizes)
        {
            foreach (int columns in ks)
            {
                Row row = MeasureOne(ParityGeometry.ForColumnSize(columns, column));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{columns,3} {FormatSize(column),9} {row.Geometry.Prime,4} {FormatSize(row.Geometry.BlockSize),9} {row.Encode,8:F1} {row.Rebuild1,9:F1} {row.Rebuild2,9:F1} {row.Update,9:F1}  {(row.Verified ? "ok" : "MISMATCH")}"));
            }
        }
    }

    private static Row MeasureOne(ParityGeometry g)
    {
        var codec = new ParityCodec(g);
        byte[] stripe = GC.AllocateUninitializedArray<byte>(g.StripeSize, pinned: true);
        new Random(42).NextBytes(stripe);
        codec.Encode(stripe);
        byte[] original = (byte[])stripe.Clone();

        int updateLength = Math.Min(UpdateBytes, g.ColumnSize);
        int updateOffset = (g.ColumnSize - updateLength) / 2;
        byte[] oldData = stripe.AsSpan((1 * g.ColumnSize) + updateOffset, updateLength).ToArray();
        byte[] newData = new byte[updateLength];
        new Random(7).NextBytes(newData);

        double encode = Throughput(g.DataSize, () => codec.Encode(stripe));
        double rebuild1 = Throughput(g.DataSize, () => codec.Reconstruct(stripe, 0));
        double rebuild2 = Throughput(g.DataSize, () => codec.Reconstruct(stripe, 0, 1));
        double update = Throughput(updateLength, () =>
        {
            // Apply the same change back and forth so parity stays consistent with the data.
            codec.UpdateParity(1, updateOffset, oldData, newData, stripe.AsSpan(g.RowParityColumn * g.ColumnSize, g.ColumnSize), stripe.AsSpan(g.DiagonalParityColumn * g.ColumnSize, g.ColumnSize));
            codec.UpdateParity(1, updateOffset, newData, oldData, stripe.AsSpan(g.RowParityColumn * g.ColumnSize, g.ColumnSize), stripe.AsSpan(g.DiagonalParityColumn * g.ColumnSize, g.ColumnSize));
        }) * 2;

        // Self-check: after all that, two lost columns still come back byte for byte.
        stripe.AsSpan(0, 2 * g.ColumnSize).Clear();
        codec.Reconstruct(stripe, 0, 1);
        bool verified = stripe.AsSpan().SequenceEqual(original) && codec.IsConsistent(stripe);
        return new Row(g, encode, rebuild1, rebuild2, update, verified);
    }

    /// <summary>Bytes per second / 10^9 over a timed loop, after a warm-up that also lets tiered JIT settle.</summary>
    private static double Throughput(long bytesPerCall, Action action)
    {
        RunFor(Warmup, action);
        (long calls, TimeSpan elapsed) = RunFor(Measure, action);
        return bytesPerCall * calls / elapsed.TotalSeconds / 1e9;
    }

    private static (long Calls, TimeSpan Elapsed) RunFor(TimeSpan duration, Action action)
    {
        long calls = 0;
        var clock = Stopwatch.StartNew();
        int batch = 1;
        while (clock.Elapsed < duration)
        {
            for (int i = 0; i < batch; i++)
            {
                action();
            }

            calls += batch;
            batch = Math.Min(batch * 2, 1 << 16);
        }

        return (calls, clock.Elapsed);
    }

    internal static bool TryParseKs(string text, [NotNullWhen(true)] out int[]? ks, out string? error)
    {
        ks = null;
        error = null;
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
                || value < ParityGeometry.MinDataColumns || value > ParityGeometry.MaxDataColumns)
            {
                error = $"'{part}' is not a data-column count in {ParityGeometry.MinDataColumns}..{ParityGeometry.MaxDataColumns} (expected e.g. 4,8,16)";
                return false;
            }

            list.Add(value);
        }

        ks = [.. list];
        return true;
    }

    internal static bool TryParseSizes(string text, [NotNullWhen(true)] out int[]? sizes, out string? error)
    {
        sizes = null;
        error = null;
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryParseSize(part, out long bytes) || bytes <= 0 || bytes > MaxColumnBytes)
            {
                error = $"'{part}' is not a column size between 1 byte and 256MiB (expected e.g. 64KiB, 1MiB or 4096)";
                return false;
            }

            list.Add((int)bytes);
        }

        sizes = [.. list];
        return true;
    }

    private static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        (string suffix, long unit)[] units = [("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("K", 1L << 10), ("M", 1L << 20), ("B", 1)];
        long multiplier = 1;
        foreach ((string suffix, long unit) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                text = text[..^suffix.Length];
                multiplier = unit;
                break;
            }
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = value * multiplier;
        return true;
    }

    private static string FormatSize(int bytes) =>
        bytes % (1 << 20) == 0 ? $"{bytes >> 20}MiB"
        : bytes % (1 << 10) == 0 ? $"{bytes >> 10}KiB"
        : $"{bytes}B";

    private sealed record Row(ParityGeometry Geometry, double Encode, double Rebuild1, double Rebuild2, double Update, bool Verified);
}
