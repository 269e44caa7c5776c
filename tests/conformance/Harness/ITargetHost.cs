namespace Tessera.Conformance.Harness;

/// <summary>
/// An iSCSI target under test, running as a separate process on 127.0.0.1 with its own data
/// directory. Tessera is the real subject; tgt is the reference the harness is checked against.
/// </summary>
internal interface ITargetHost : IAsyncDisposable
{
    /// <summary>"tessera" or "tgt".</summary>
    string Name { get; }

    /// <summary>The default logical unit, <c>iscsi://127.0.0.1:PORT/IQN/LUN</c>; valid once started.</summary>
    string LunUrl { get; }

    /// <summary>Size of the default logical unit in bytes.</summary>
    long LunSizeBytes { get; }

    /// <summary>
    /// Adds a volume before <see cref="StartAsync"/>; its URL is known once started. 512-byte logical
    /// blocks; <paramref name="physicalBlockSize"/> above 512 makes it a "512e" LU (LBPPBE &gt; 0 in
    /// READ CAPACITY 16), 0 keeps one logical block per physical block.
    /// </summary>
    Task AddVolumeAsync(string name, long sizeBytes, bool readOnly, int physicalBlockSize, CancellationToken cancellationToken);

    /// <summary>Before <see cref="StartAsync"/>: normal sessions must log in with one-way CHAP.</summary>
    Task RequireChapAsync(string user, string secret, CancellationToken cancellationToken);

    /// <summary>URL of a volume added with <see cref="AddVolumeAsync"/>.</summary>
    Task<string> VolumeUrlAsync(string name, CancellationToken cancellationToken);

    /// <summary>Starts the target and returns once it accepts iSCSI connections.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary><c>kill -9</c> of the target process.</summary>
    void KillHard();

    /// <summary>Clean stop (SIGTERM); false if the target had to be killed.</summary>
    Task<bool> StopAsync();

    /// <summary>Everything the target printed, across restarts.</summary>
    string Log { get; }
}
