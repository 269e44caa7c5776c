using System.CommandLine;
using Tessera.Cluster.Metadata;
using Tessera.Cluster.Metadata.Volumes;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

/// <summary>`tessera volume create|list|delete`: the LUNs under the node's target.</summary>
internal static class VolumeCommands
{
    public static Command Create()
    {
        var volume = new Command("volume", "Create, list and delete volumes (each is one LUN of the target).");
        volume.Subcommands.Add(CreateCommand());
        volume.Subcommands.Add(ListCommand());
        volume.Subcommands.Add(DeleteCommand());
        return volume;
    }

    private static Command CreateCommand()
    {
        var name = new Argument<string>("NAME") { Description = "Volume name: 1-64 characters of A-Z a-z 0-9 . _ -" };
        var size = CommonOptions.Size("Volume size, e.g. 10GiB (binary) or 10G (decimal).", null);
        size.Required = true;
        var readOnly = new Option<bool>("--read-only") { Description = "Present the LU write-protected." };
        var blockSize = new Option<int>("--block-size") { Description = "Logical block size: 512 or 4096.", DefaultValueFactory = _ => 512 };
        blockSize.Validators.Add(r =>
        {
            int v = r.GetValueOrDefault<int>();
            if (v is not (512 or 4096)) r.AddError($"--block-size must be 512 or 4096, not {v}");
        });
        var physicalBlockSize = new Option<int?>("--physical-block-size")
        {
            Description = "Physical block size reported to initiators (READ CAPACITY 16): a power-of-two multiple of the block size, " +
                          "at most 64KiB; e.g. 4096 with 512-byte blocks for a 512e disk. Default: the block size.",
        };
        physicalBlockSize.Validators.Add(r =>
        {
            int? v = r.GetValueOrDefault<int?>();
            if (v is { } p && (p < 512 || p > VolumeCatalog.MaxPhysicalBlockSize || !int.IsPow2(p)))
                r.AddError($"--physical-block-size must be a power of two from 512 to {VolumeCatalog.MaxPhysicalBlockSize}, not {p}");
        });
        var dataColumns = new Option<int>("--data-columns")
        {
            Description = $"Cluster only: data columns K per stripe, each stripe on K+2 nodes (K data + row and diagonal parity); " +
                          $"{VolumeInfo.MinDataColumns} to {VolumeInfo.MaxDataColumns}, at most the node count minus 2.",
            DefaultValueFactory = _ => VolumeInfo.DefaultDataColumns,
            HelpName = "K",
        };
        dataColumns.Validators.Add(r =>
        {
            int v = r.GetValueOrDefault<int>();
            if (v is < VolumeInfo.MinDataColumns or > VolumeInfo.MaxDataColumns)
                r.AddError($"--data-columns must be {VolumeInfo.MinDataColumns} to {VolumeInfo.MaxDataColumns}, not {v}");
        });
        var data = CommonOptions.Data();
        var etcd = EtcdOption();
        var command = new Command("create", "Create a thin volume.") { name, size, readOnly, blockSize, physicalBlockSize, dataColumns, data, etcd };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(etcd) is { } url)
            {
                var spec = new VolumeSpec(parse.GetValue(name)!, CommonOptions.ParseSize(parse.GetValue(size)!))
                {
                    BlockSize = parse.GetValue(blockSize),
                    PhysicalBlockSize = parse.GetValue(physicalBlockSize) ?? 0,
                    ReadOnly = parse.GetValue(readOnly),
                    DataColumns = parse.GetValue(dataColumns),
                };
                return await WithClusterAsync(url, async directory =>
                {
                    VolumeRecord record;
                    try
                    {
                        record = await directory.CreateAsync(spec, cancellationToken: cancellation).ConfigureAwait(false);
                    }
                    catch (ArgumentException ex)
                    {
                        throw new UsageException(ex.Message);
                    }

                    Console.WriteLine($"created volume {record.Name}: LUN {record.Lun}, {SizeParser.Format(record.SizeBytes)}, {record.BlockSize}-byte blocks, " +
                        $"{record.DataColumns}+2 columns on nodes {string.Join(',', record.Placement)}{(record.ReadOnly ? ", read-only" : "")}, id {record.Id}");
                }).ConfigureAwait(false);
            }

            using var catalog = new VolumeCatalog(parse.GetValue(data)!);
            var info = catalog.Create(parse.GetValue(name)!, CommonOptions.ParseSize(parse.GetValue(size)!),
                parse.GetValue(blockSize), parse.GetValue(readOnly), parse.GetValue(physicalBlockSize) ?? 0, parse.GetValue(dataColumns));
            string physical = info.PhysicalBlockSize != info.BlockSize ? $" on {info.PhysicalBlockSize}-byte physical blocks" : "";
            Console.WriteLine($"created volume {info.Name}: LUN {info.Lun}, {SizeParser.Format(info.SizeBytes)}, " +
                $"{info.BlockSize}-byte blocks{physical}{(info.ReadOnly ? ", read-only" : "")}, {info.DataColumns}+2 columns in a cluster, id {info.Id}");
            return TesseraCli.ExitOk;
        });
        return command;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var etcd = EtcdOption();
        var command = new Command("list", "List volumes.") { data, etcd };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(etcd) is { } url)
            {
                return await WithClusterAsync(url, async directory =>
                {
                    var (records, _) = await directory.ListAsync(cancellation).ConfigureAwait(false);
                    if (records.Count == 0)
                    {
                        Console.WriteLine("no volumes");
                        return;
                    }
                    Console.WriteLine($"{"LUN",-4} {"NAME",-24} {"SIZE",10} {"BLOCK",6} {"PHYS",6} {"MODE",-4} {"K+P",-4} {"NODES",-12} ID");
                    foreach (var v in records.OrderBy(r => r.Lun))
                    {
                        Console.WriteLine($"{v.Lun,-4} {v.Name,-24} {SizeParser.Format(v.SizeBytes),10} {v.BlockSize,6} {v.PhysicalBlockSize,6} " +
                            $"{(v.ReadOnly ? "ro" : "rw"),-4} {$"{v.DataColumns}+2",-4} {string.Join(',', v.Placement),-12} {v.Id}");
                    }
                }).ConfigureAwait(false);
            }

            using var catalog = new VolumeCatalog(parse.GetValue(data)!);
            var volumes = catalog.List();
            if (volumes.Count == 0)
            {
                Console.WriteLine("no volumes");
                return TesseraCli.ExitOk;
            }
            Console.WriteLine($"{"LUN",-4} {"NAME",-24} {"SIZE",10} {"ALLOCATED",10} {"BLOCK",6} {"PHYS",6} {"MODE",-4} {"K+P",-4} ID");
            foreach (var v in volumes)
            {
                Console.WriteLine($"{v.Lun,-4} {v.Name,-24} {SizeParser.Format(v.SizeBytes),10} " +
                    $"{SizeParser.Format(catalog.GetAllocatedBytes(v.Name)),10} {v.BlockSize,6} {v.PhysicalBlockSize,6} {(v.ReadOnly ? "ro" : "rw"),-4} {$"{v.DataColumns}+2",-4} {v.Id}");
            }
            return TesseraCli.ExitOk;
        });
        return command;
    }

    private static Command DeleteCommand()
    {
        var name = new Argument<string>("NAME") { Description = "Volume to delete (its data is gone)." };
        var data = CommonOptions.Data();
        var etcd = EtcdOption();
        var command = new Command("delete", "Delete a volume and its data.") { name, data, etcd };
        command.SetAction(async (parse, cancellation) =>
        {
            if (parse.GetValue(etcd) is { } url)
            {
                return await WithClusterAsync(url, async directory =>
                {
                    var deleted = await directory.DeleteAsync(parse.GetValue(name)!, cancellation).ConfigureAwait(false);
                    Console.WriteLine($"deleted volume {deleted.Name} (LUN {deleted.Lun}); nodes stop presenting it within a second");
                }).ConfigureAwait(false);
            }

            using var catalog = new VolumeCatalog(parse.GetValue(data)!);
            catalog.Delete(parse.GetValue(name)!);
            Console.WriteLine($"deleted volume {parse.GetValue(name)}");
            return TesseraCli.ExitOk;
        });
        return command;
    }

    private static readonly TimeSpan EtcdTimeout = TimeSpan.FromSeconds(10);

    /// <summary>--etcd: the volume lives in a cluster of `tessera node` processes, not in the data directory.</summary>
    private static Option<string> EtcdOption() =>
        CommonOptions.Etcd("Act on the volumes of the cluster whose etcd is at URL (`tessera node` processes) instead of --data.");

    private static async Task<int> WithClusterAsync(string url, Func<VolumeDirectory, Task> action)
    {
        await using var store = CommonOptions.ConnectEtcd(url, EtcdTimeout);
        try
        {
            await action(new VolumeDirectory(store)).ConfigureAwait(false);
            return TesseraCli.ExitOk;
        }
        catch (VolumeDirectoryException ex)
        {
            Console.Error.WriteLine($"tessera: {ex.Message}");
            return TesseraCli.ExitFailure;
        }
    }
}
