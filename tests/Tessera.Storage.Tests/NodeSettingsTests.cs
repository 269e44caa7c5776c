namespace Tessera.Storage.Tests;

public class NodeSettingsTests
{
    private static NodeSettings WithChap() => new()
    {
        Chap = new ChapCredentials("initiator-user", "initiator-secret-1"),
        MutualChap = new ChapCredentials("target-user", "target-secret-22"),
        DiscoveryChap = true,
    };

    [Fact]
    public void DefaultsAreValidAndLoopbackOnly()
    {
        var settings = new NodeSettings();
        settings.Validate();
        Assert.Equal("iqn.2026-11.io.tessera:target", settings.TargetIqn);
        Assert.Equal("127.0.0.1:3260", settings.Portal);
        Assert.Null(settings.Chap);
        Assert.False(settings.DiscoveryChap);
        Assert.Null(settings.MutualChap);
        Assert.Equal(12, settings.NodeId.Length);
    }

    [Fact]
    public void MissingFileLoadsDefaultsWithoutWritingAndLoadOrCreatePersistsTheNodeId()
    {
        using var dir = new TempDirectory();
        NodeSettings.Load(dir.Path);
        Assert.False(File.Exists(NodeSettings.PathIn(dir.Path)));

        string nodeId = NodeSettings.LoadOrCreate(dir.Path).NodeId;
        Assert.True(File.Exists(NodeSettings.PathIn(dir.Path)));
        Assert.Equal(nodeId, NodeSettings.LoadOrCreate(dir.Path).NodeId);
        Assert.Equal(nodeId, NodeSettings.Load(dir.Path).NodeId);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void SaveAndLoadRoundTripEverySettingWithOwnerOnlyPermissions()
    {
        using var dir = new TempDirectory();
        NodeSettings saved = WithChap();
        saved.TargetIqn = NodeSettings.TargetIqnForCluster("Lab-7");
        saved.Portal = "[::1]:3261";
        saved.Save(dir.Path);

        NodeSettings loaded = NodeSettings.Load(dir.Path);
        Assert.Equal("iqn.2026-11.io.tessera:lab-7", loaded.TargetIqn);
        Assert.Equal("[::1]:3261", loaded.Portal);
        Assert.Equal(saved.NodeId, loaded.NodeId);
        Assert.Equal(saved.Chap, loaded.Chap);
        Assert.Equal(saved.MutualChap, loaded.MutualChap);
        Assert.True(loaded.DiscoveryChap);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(NodeSettings.PathIn(dir.Path)));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void CredentialsNeverPrintTheirSecret()
    {
        Assert.DoesNotContain("initiator-secret-1", WithChap().Chap!.ToString());
    }

    [Theory]
    [InlineData("short", "5 bytes, must be 12 to 255")]
    [InlineData("elevenchars", "11 bytes, must be 12 to 255")]
    public void ShortChapSecretsAreRejected(string secret, string reason)
    {
        var settings = new NodeSettings { Chap = new ChapCredentials("user", secret) };
        var ex = Assert.Throws<StorageException>(settings.Validate);
        Assert.Contains(reason, ex.Message);
        Assert.DoesNotContain(secret, ex.Message);
    }

    [Fact]
    public void ChapSecretsOfTwelveToTwoHundredFiftyFiveBytesAreAccepted()
    {
        new NodeSettings { Chap = new ChapCredentials("user", new string('s', 12)) }.Validate();
        new NodeSettings { Chap = new ChapCredentials("user", new string('s', 255)) }.Validate();
        Assert.Throws<StorageException>(new NodeSettings { Chap = new ChapCredentials("user", new string('s', 256)) }.Validate);
    }

    [Theory]
    [InlineData("", "invalid CHAP user ''")]
    [InlineData("bad\nuser", "without control characters")]
    public void BadChapUsersAreRejected(string user, string reason)
    {
        var ex = Assert.Throws<StorageException>(new NodeSettings { Chap = new ChapCredentials(user, "twelve-chars") }.Validate);
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void MutualAndDiscoveryChapNeedOneWayChapAndADifferentSecret()
    {
        Assert.Contains("mutual CHAP needs one-way CHAP",
            Assert.Throws<StorageException>(new NodeSettings { MutualChap = new ChapCredentials("t", "target-secret-22") }.Validate).Message);
        Assert.Contains("discovery CHAP is enabled but no CHAP credentials",
            Assert.Throws<StorageException>(new NodeSettings { DiscoveryChap = true }.Validate).Message);
        var same = new NodeSettings { Chap = new ChapCredentials("i", "shared-secret-1"), MutualChap = new ChapCredentials("t", "shared-secret-1") };
        Assert.Contains("must differ", Assert.Throws<StorageException>(same.Validate).Message);
    }

    [Theory]
    [InlineData("iqn.2026-11.io.tessera:target")]
    [InlineData("iqn.2001-04.com.example")]
    [InlineData("iqn.2001-04.com.example:storage.disk2.sys1.xyz")]
    [InlineData("eui.02004567A425678D")]
    [InlineData("naa.52004567BA64678D")]
    [InlineData("naa.62004567BA64678D0123456789ABCDEF")]
    public void AcceptsIscsiNames(string name) => Assert.Null(NodeSettings.ValidateIscsiName(name));

    [Theory]
    [InlineData("")]
    [InlineData("target")]
    [InlineData("iqn.2026-13.io.tessera:target")]
    [InlineData("iqn.26-11.io.tessera")]
    [InlineData("iqn.2026-11.IO.Tessera")]
    [InlineData("iqn.2026-11.io.tessera:has space")]
    [InlineData("eui.02004567a425678d")]
    [InlineData("naa.1234")]
    public void RejectsMalformedIscsiNames(string name)
    {
        Assert.NotNull(NodeSettings.ValidateIscsiName(name));
        var ex = Assert.Throws<StorageException>(new NodeSettings { TargetIqn = name }.Validate);
        Assert.Contains($"invalid target name '{name}'", ex.Message);
    }

    [Fact]
    public void RejectsOverlongIscsiNames()
    {
        string name = "iqn.2026-11.io.tessera:" + new string('x', 201);
        Assert.Equal("longer than 223 bytes", NodeSettings.ValidateIscsiName(name));
    }

    [Theory]
    [InlineData("127.0.0.1:3260", "127.0.0.1", 3260)]
    [InlineData("127.0.0.1", "127.0.0.1", 3260)]
    [InlineData("localhost:860", "localhost", 860)]
    [InlineData("[::1]:3261", "::1", 3261)]
    [InlineData("[::1]", "::1", 3260)]
    public void ParsesPortals(string text, string host, int port)
    {
        Assert.True(NodeSettings.TryParsePortal(text, out string h, out int p, out string? error), error);
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("", "invalid portal ''")]
    [InlineData("127.0.0.1:0", "port '0' is not a number from 1 to 65535")]
    [InlineData("127.0.0.1:65536", "port '65536'")]
    [InlineData("127.0.0.1:http", "port 'http'")]
    [InlineData("::1:3260", "in brackets")]
    [InlineData("[::1:3260", "missing ']'")]
    [InlineData("[127.0.0.1]:3260", "is not an IPv6 address")]
    [InlineData("bad_host:3260", "is not an IPv4 address or host name")]
    public void RejectsBadPortals(string text, string reason)
    {
        Assert.False(NodeSettings.TryParsePortal(text, out _, out _, out string? error));
        Assert.Contains(reason, error);
        Assert.Contains(reason, Assert.Throws<StorageException>(new NodeSettings { Portal = text }.Validate).Message);
    }

    [Fact]
    public void AGarbageSettingsFileIsReportedNotReplaced()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(NodeSettings.PathIn(dir.Path), "{ \"targetIqn\": ");
        var ex = Assert.Throws<StorageException>(() => NodeSettings.Load(dir.Path));
        Assert.Contains("node.json' are unreadable", ex.Message);
        Assert.Throws<StorageException>(() => NodeSettings.LoadOrCreate(dir.Path));
        Assert.Equal("{ \"targetIqn\": ", File.ReadAllText(NodeSettings.PathIn(dir.Path)));
    }

    [Fact]
    public void AnInvalidValueInTheFileNamesTheFileAndTheValue()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(NodeSettings.PathIn(dir.Path), """{ "targetIqn": "not-an-iqn" }""");
        var ex = Assert.Throws<StorageException>(() => NodeSettings.Load(dir.Path));
        Assert.Contains("node.json' are invalid: invalid target name 'not-an-iqn'", ex.Message);
    }
}
