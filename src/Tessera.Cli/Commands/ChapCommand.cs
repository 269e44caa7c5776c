using System.CommandLine;
using Tessera.Storage;
using StorageChap = Tessera.Storage.ChapCredentials;

namespace Tessera.Cli.Commands;

/// <summary>`tessera chap set|clear|show`: the node's CHAP secrets, kept in the data directory.</summary>
internal static class ChapCommand
{
    public static Command Create()
    {
        var chap = new Command("chap", "Configure CHAP authentication for initiators (takes effect at the next `up`).");

        var data = CommonOptions.Data();
        var user = new Option<string>("--user") { Description = "Name initiators must present (CHAP_N).", Required = true };
        var secret = new Option<string>("--secret") { Description = "Secret initiators must prove (12 or more characters).", Required = true };
        var mutualUser = new Option<string>("--mutual-user") { Description = "Name the target presents for mutual CHAP." };
        var mutualSecret = new Option<string>("--mutual-secret") { Description = "Secret the target proves for mutual CHAP." };
        var discovery = new Option<bool>("--discovery") { Description = "Require CHAP for discovery sessions too." };
        var set = new Command("set", "Require CHAP for normal (and optionally discovery) sessions.")
        {
            user, secret, mutualUser, mutualSecret, discovery, data,
        };
        set.SetAction(parse =>
        {
            string dir = parse.GetValue(data)!;
            var settings = NodeSettings.LoadOrCreate(dir);
            settings.Chap = new StorageChap(parse.GetValue(user)!, parse.GetValue(secret)!);
            string? mu = parse.GetValue(mutualUser), ms = parse.GetValue(mutualSecret);
            if ((mu is null) != (ms is null)) throw new UsageException("--mutual-user and --mutual-secret go together");
            settings.MutualChap = mu is null ? null : new StorageChap(mu, ms!);
            settings.DiscoveryChap = parse.GetValue(discovery);
            settings.Validate();
            settings.Save(dir);
            Console.WriteLine($"CHAP required for {(settings.DiscoveryChap ? "normal and discovery" : "normal")} sessions" +
                (settings.MutualChap is null ? "" : ", mutual CHAP enabled"));
            return TesseraCli.ExitOk;
        });
        chap.Subcommands.Add(set);

        var clearData = CommonOptions.Data();
        var clear = new Command("clear", "Stop requiring CHAP.") { clearData };
        clear.SetAction(parse =>
        {
            string dir = parse.GetValue(clearData)!;
            var settings = NodeSettings.LoadOrCreate(dir);
            settings.Chap = null;
            settings.MutualChap = null;
            settings.DiscoveryChap = false;
            settings.Save(dir);
            Console.WriteLine("CHAP disabled");
            return TesseraCli.ExitOk;
        });
        chap.Subcommands.Add(clear);
        return chap;
    }
}
