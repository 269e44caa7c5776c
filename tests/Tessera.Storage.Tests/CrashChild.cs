using System.Buffers.Binary;
using System.Diagnostics;
using Tessera.Scsi;

namespace Tessera.Storage.Tests;

/// <summary>
/// Entry point of this test assembly when a crash test runs it as a child process
/// (<c>dotnet Tessera.Storage.Tests.dll crash-child MODE ...</c>); the parent kills it with SIGKILL
/// at a random moment and checks what survived.
/// </summary>
public static class CrashChild
{
    internal const int BlockSize = 4096;
    internal const int Blocks = 256;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length < 3 || args[0] != "crash-child")
        {
            Console.Error.WriteLine("usage: crash-child (catalog-churn DIR | fua-writer DIR VOLUME)");
            return 2;
        }
        switch (args[1])
        {
            case "catalog-churn":
                CatalogChurn(args[2]);
                return 0;
            case "fua-writer":
                await FuaWriter(args[2], args[3]);
                return 0;
            default:
                return 2;
        }
    }

    /// <summary>Starts this assembly as a child in <paramref name="mode"/>.</summary>
    internal static Process Start(params string[] arguments)
    {
        string host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(CrashChild).Assembly.Location);
        start.ArgumentList.Add("crash-child");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the crash child");
    }

    /// <summary>The 8-byte sequence number a fua-writer block carries, repeated over the block.</summary>
    internal static void Fill(Span<byte> block, long sequence)
    {
        for (int i = 0; i < block.Length; i += 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(block[i..], sequence);
        }
    }

    // Creates and deletes volumes forever, reporting each committed change.
    private static void CatalogChurn(string directory)
    {
        using var catalog = new VolumeCatalog(directory);
        for (long i = 0; ; i++)
        {
            catalog.Create($"churn-{i}", 1 << 20);
            if (i % 3 != 0)
            {
                catalog.Delete($"churn-{i - 1}");
            }
            Console.Out.WriteLine($"committed {i}");
            Console.Out.Flush();
        }
    }

    // Writes sequence numbers round-robin over the blocks with FUA, acknowledging each completed write.
    private static async Task FuaWriter(string directory, string volumeName)
    {
        using var catalog = new VolumeCatalog(directory);
        using ThinVolume volume = catalog.Open(volumeName);
        byte[] block = new byte[BlockSize];
        for (long sequence = 1; ; sequence++)
        {
            Fill(block, sequence);
            await volume.WriteAsync(sequence % Blocks, block, WriteFlags.Fua);
            Console.Out.WriteLine($"acked {sequence}");
            Console.Out.Flush();
        }
    }
}
