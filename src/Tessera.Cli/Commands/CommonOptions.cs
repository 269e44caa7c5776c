using System.CommandLine;
using Tessera.Cluster.Metadata.Etcd;
using Tessera.Storage;

namespace Tessera.Cli.Commands;

internal static class CommonOptions
{
    public const string DefaultDataDirectory = "./tessera-data";

    public static Option<string> Data() => new("--data")
    {
        Description = "Data directory holding volumes and settings.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TESSERA_DATA") ?? DefaultDataDirectory,
        HelpName = "DIR",
    };

    /// <summary>A size option ("1GiB", "512MiB", "4096") validated at parse time.</summary>
    public static Option<string> Size(string description, string? defaultValue)
    {
        var option = new Option<string>("--size") { Description = description, HelpName = "SIZE" };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.Validators.Add(r =>
        {
            string? text = r.GetValueOrDefault<string>();
            if (text is not null && !SizeParser.TryParse(text, out _, out string? error)) r.AddError($"--size: {error}");
        });
        return option;
    }

    public static long ParseSize(string text) => SizeParser.Parse(text);

    /// <summary>--etcd URL: the cluster's etcd client URL, validated at parse time.</summary>
    public static Option<string> Etcd(string description, bool required = false)
    {
        var option = new Option<string>("--etcd") { Description = description, HelpName = "URL", Required = required };
        option.Validators.Add(r =>
        {
            string? url = r.GetValueOrDefault<string>();
            if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https"))
                r.AddError($"--etcd: '{url}' is not an http:// or https:// URL");
        });
        return option;
    }

    /// <summary>A short-lived etcd connection for one command (status, volume): fails fast when etcd is unreachable.</summary>
    public static EtcdMetadataStore ConnectEtcd(string url, TimeSpan requestTimeout) =>
        EtcdMetadataStore.Connect(url, new EtcdStoreOptions { RequestTimeout = requestTimeout });
}
