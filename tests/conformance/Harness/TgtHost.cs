namespace Tessera.Conformance.Harness;

/// <summary>
/// Linux tgt (tgtd) serving sparse backing files, as a reference target: it validates the
/// harness and gives the figures Tessera is compared with. tgtd keeps no configuration, so
/// every start recreates the target and its LUNs over the same files. Needs root.
/// </summary>
internal sealed class TgtHost : ITargetHost
{
    public const string TargetIqn = "iqn.2024-01.dev.tessera.test:tgt";
    private const int Tid = 1;

    private readonly int port = FreePort.Next();
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("tessera-conformance-tgt-").FullName;
    private readonly List<(string Name, long Size, bool ReadOnly, int PhysicalBlockSize)> volumes = [];
    private readonly System.Text.StringBuilder history = new();
    private ChildProcess? daemon;
    private (string User, string Secret)? chap;

    public TgtHost(long lunSizeBytes = Sizes.GiB) => LunSizeBytes = lunSizeBytes;

    public string Name => "tgt";

    public long LunSizeBytes { get; }

    // LUN 0 of a tgt target is its controller; the disks start at 1.
    public string LunUrl => UrlOf(1);

    public string Log => history + (daemon?.Log ?? string.Empty);

    // The mgmt socket is /var/run/tgtd/socket.N (N at most 32767); deriving N from our portal
    // port keeps several tgtd instances (and the distribution's own service on 0) apart.
    private string ControlPort => (1000 + (port % 30000)).ToString();

    public Task AddVolumeAsync(string name, long sizeBytes, bool readOnly, int physicalBlockSize, CancellationToken cancellationToken)
    {
        volumes.Add((name, sizeBytes, readOnly, physicalBlockSize));
        return Task.CompletedTask;
    }

    public Task RequireChapAsync(string user, string secret, CancellationToken cancellationToken)
    {
        chap = (user, secret);
        return Task.CompletedTask;
    }

    public Task<string> VolumeUrlAsync(string name, CancellationToken cancellationToken)
    {
        var index = volumes.FindIndex(v => v.Name == name);
        return index < 0
            ? throw new ArgumentException($"volume {name} was not added", nameof(name))
            : Task.FromResult(UrlOf(index + 2));
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (daemon is not null)
        {
            history.Append(daemon.Log);
            await daemon.DisposeAsync();
        }

        daemon = ChildProcess.Start("tgtd", "tgtd", ["-f", "-C", ControlPort, "--iscsi", $"portal=127.0.0.1:{port}"]);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (!(await TgtAdmAsync(["--op", "show", "--mode", "system"], deadline.Token)).Succeeded)
        {
            if (daemon.HasExited)
            {
                throw new InvalidOperationException($"tgtd exited (is this root?):\n{daemon.Log}");
            }

            await Task.Delay(100, deadline.Token);
        }

        await MustAsync(["--op", "new", "--mode", "target", "--tid", $"{Tid}", "-T", TargetIqn], deadline.Token);
        List<(string Name, long Size, bool ReadOnly, int PhysicalBlockSize)> luns = [("lun", LunSizeBytes, false, 0), .. volumes];
        for (var i = 0; i < luns.Count; i++)
        {
            var lun = i + 1;
            var file = Path.Combine(dataDirectory, $"{luns[i].Name}.img");
            await using (var backing = new FileStream(file, FileMode.OpenOrCreate))
            {
                if (backing.Length != luns[i].Size)
                {
                    backing.SetLength(luns[i].Size);
                }
            }

            await MustAsync(["--op", "new", "--mode", "logicalunit", "--tid", $"{Tid}", "--lun", $"{lun}", "-b", file], deadline.Token);
            if (luns[i].ReadOnly)
            {
                await MustAsync(["--op", "update", "--mode", "logicalunit", "--tid", $"{Tid}", "--lun", $"{lun}", "--params", "readonly=1"], deadline.Token);
            }

            if (luns[i].PhysicalBlockSize > 512)
            {
                // tgt's backing store has 512-byte blocks; lbppbe is its READ CAPACITY (16) exponent.
                var exponent = System.Numerics.BitOperations.Log2((uint)(luns[i].PhysicalBlockSize / 512));
                await MustAsync(["--op", "update", "--mode", "logicalunit", "--tid", $"{Tid}", "--lun", $"{lun}", "--params", $"lbppbe={exponent}"], deadline.Token);
            }
        }

        if (chap is { } account)
        {
            // An incoming account bound to the target makes tgtd require CHAP for it.
            await MustAsync(["--op", "new", "--mode", "account", "--user", account.User, "--password", account.Secret], deadline.Token);
            await MustAsync(["--op", "bind", "--mode", "account", "--tid", $"{Tid}", "--user", account.User], deadline.Token);
        }

        await MustAsync(["--op", "bind", "--mode", "target", "--tid", $"{Tid}", "-I", "ALL"], deadline.Token);
        while (!await FreePort.AcceptsAsync(port, deadline.Token))
        {
            await Task.Delay(100, deadline.Token);
        }
    }

    public void KillHard() => daemon?.KillHard();

    // tgtd ignores SIGTERM; its writes are plain pwrite()s already in the page cache, so a
    // SIGKILL loses nothing and is its normal way out here.
    public Task<bool> StopAsync()
    {
        KillHard();
        return Task.FromResult(true);
    }

    public async ValueTask DisposeAsync()
    {
        KillHard();
        if (daemon is not null)
        {
            await daemon.DisposeAsync();
        }

        // A killed tgtd leaves its mgmt socket and lock file behind.
        foreach (var leftover in new[] { "", ".lock" }.Select(suffix => $"/var/run/tgtd/socket.{ControlPort}{suffix}"))
        {
            File.Delete(leftover);
        }

        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private string UrlOf(int lun) => $"iscsi://127.0.0.1:{port}/{TargetIqn}/{lun}";

    private Task<ToolResult> TgtAdmAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ToolRunner.RunAsync("tgtadm", ["-C", ControlPort, "--lld", "iscsi", .. arguments], TimeSpan.FromSeconds(30), cancellationToken);

    private async Task MustAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await TgtAdmAsync(arguments, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"tgtadm {string.Join(' ', arguments)} failed (exit {result.ExitCode}): {result.Output}");
        }
    }
}
