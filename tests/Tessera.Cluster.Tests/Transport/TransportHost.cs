using System.Buffers;
using System.Net;
using Tessera.Cluster.Transport;
using Tessera.Cluster.Transport.Client;
using Tessera.Cluster.Transport.Protocol;
using Tessera.Cluster.Transport.Server;

namespace Tessera.Cluster.Tests.Transport;

/// <summary>A node's listener on 127.0.0.1 with an echo handler, and links to it.</summary>
internal sealed class TransportHost : IAsyncDisposable
{
    public const ushort Echo = 150;

    public static readonly Guid Cluster = new("6d1f2a60-3b0e-4c55-9f38-2a5b8e1d7c41");

    private readonly List<PeerLink> _links = [];

    public TransportHost(Func<InterNodeOptions, InterNodeOptions>? configure = null, int port = 0)
    {
        Options = Configure(new InterNodeOptions { ClusterId = Cluster, NodeId = "server" }, configure);
        Server = new InterNodeServer(Options);
        Server.Register(Echo, new DelegateFrameHandler(static (frame, response, _) =>
        {
            response.Write(frame.Payload.Span);
            return ValueTask.FromResult(FrameStatus.Ok);
        }));
        EndPoint = Server.Start(new IPEndPoint(IPAddress.Loopback, port));
    }

    public InterNodeOptions Options { get; }

    public InterNodeServer Server { get; }

    public IPEndPoint EndPoint { get; }

    public static InterNodeOptions ClientOptions(Func<InterNodeOptions, InterNodeOptions>? configure = null, string nodeId = "client") =>
        Configure(new InterNodeOptions { ClusterId = Cluster, NodeId = nodeId }, configure);

    public PeerLink Link(Func<InterNodeOptions, InterNodeOptions>? configure = null, string nodeId = "client")
    {
        var link = new PeerLink(EndPoint, ClientOptions(configure, nodeId));
        _links.Add(link);
        return link;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (PeerLink link in _links)
        {
            await link.DisposeAsync();
        }

        await Server.DisposeAsync();
    }

    /// <summary>Polls <paramref name="condition"/> until true; fails the test after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(5);
        }
    }

    private static InterNodeOptions Configure(InterNodeOptions options, Func<InterNodeOptions, InterNodeOptions>? configure) =>
        configure is null ? options : configure(options);
}
