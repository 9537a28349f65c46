using System.Net;
using Meshwire.Agent;
using Meshwire.Agent.LocalApi;
using Meshwire.Agent.Paths;
using Meshwire.Agent.State;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Noise;

namespace Meshwire.LocalApiTesting;

// Shared by the agent's LocalAPI tests and the CLI tests (linked into both): a backend with a fixed tailnet of
// alpha (self, 100.64.0.1), beta (100.64.0.2, direct) and gamma (100.64.0.3, relayed, tagged).

/// <summary>A path layer that answers from tables the test fills.</summary>
internal sealed class FakePaths : IPeerPaths
{
    public Dictionary<NodePublicKey, PeerPathInfo> Paths { get; } = [];

    /// <summary>Peers that answer pings, with their round trip.</summary>
    public Dictionary<NodePublicKey, TimeSpan> Replies { get; } = [];

    public List<(NodePublicKey Peer, IPAddress Target, TimeSpan Timeout)> Pings { get; } = [];

    public NetcheckReport Netcheck { get; set; } = new()
    {
        Udp = true,
        MappedV4 = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("203.0.113.7:41641")),
        EndpointIndependentMapping = true,
        PreferredRelayRegion = "r1",
        RelayLatency = new Dictionary<string, TimeSpan> { ["r1"] = TimeSpan.FromMilliseconds(12), ["r2"] = TimeSpan.FromMilliseconds(40) },
    };

    public PeerPathInfo PathOf(NodePublicKey peer) => Paths.GetValueOrDefault(peer) ?? new PeerPathInfo(PathKind.None);

    public Task<PingResult> PingAsync(NodePublicKey peer, IPAddress target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        lock (Pings)
        {
            Pings.Add((peer, target, timeout));
        }

        return Task.FromResult(Replies.TryGetValue(peer, out var rtt)
            ? new PingResult(true, rtt, PathOf(peer))
            : new PingResult(false, TimeSpan.Zero, PathOf(peer), "timed out"));
    }

    public Task<NetcheckReport> NetcheckAsync(CancellationToken cancellationToken) => Task.FromResult(Netcheck);
}

/// <summary>A backend holding a snapshot the test shapes; commands are recorded and move the state like the agent would.</summary>
internal sealed class FakeBackend : ILocalBackend
{
    public static readonly NodePublicKey AlphaKey = NewKey();
    public static readonly NodePublicKey BetaKey = NewKey();
    public static readonly NodePublicKey GammaKey = NewKey();

    public FakeBackend()
    {
        Netmap = NetmapView.From(new MapFull
        {
            Seq = 1,
            Self = Node("nab00000000000001", "alpha", AlphaKey, 1),
            Peers = [Node("nab00000000000002", "beta", BetaKey, 2), Node("nab00000000000003", "gamma", GammaKey, 3, "bob", ["tag:web"])],
            RelayMap = new RelayMap(),
            Dns = new DnsConfig { Suffix = "mesh.internal" },
            PacketFilter = [],
        });
        FakePaths.Paths[BetaKey] = new PeerPathInfo(PathKind.Direct, EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("10.1.1.2:41641")), Latency: TimeSpan.FromMilliseconds(3));
        FakePaths.Paths[GammaKey] = new PeerPathInfo(PathKind.Relay, RelayRegion: "r1");
        FakePaths.Replies[BetaKey] = TimeSpan.FromMilliseconds(3);
        FakePaths.Replies[GammaKey] = TimeSpan.FromMilliseconds(12);
    }

    public BackendState State { get; set; } = BackendState.Running;

    public string? AuthUrl { get; set; }

    public string? LastError { get; set; }

    public NetmapView? Netmap { get; set; }

    public NodePrefs Prefs { get; set; } = new() { LoginServer = "http://control.test/", Hostname = "alpha", WantRunning = true, Registered = true };

    public DeviceStatus Engine { get; set; } = new(null, 41641, 0,
        [new PeerStatus(BetaKey, default, IPEndPoint.Parse("10.1.1.2:41641"), 25, DateTimeOffset.UtcNow.AddSeconds(-12), 1500, 3000, [])]);

    public FakePaths FakePaths { get; } = new();

    public IPeerPaths Paths => FakePaths;

    public List<UpRequest> Ups { get; } = [];

    public List<PrefsEdit> Edits { get; } = [];

    public int Downs { get; private set; }

    public int Logouts { get; private set; }

    /// <summary>What the next up ends in (NeedsLogin with a URL, for the interactive-login tests).</summary>
    public Func<UpRequest, BackendState> UpOutcome { get; set; } = _ => BackendState.Running;

    public BackendSnapshot Snapshot() => new(State, AuthUrl, LastError, State == BackendState.Running, AlphaKey, Netmap, Engine, Prefs);

    public Task<BackendSnapshot> UpAsync(UpRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        Ups.Add(request);
        State = UpOutcome(request);
        Prefs = Prefs with { WantRunning = true, Hostname = request.Hostname ?? Prefs.Hostname, LoginServer = request.LoginServer?.ToString() ?? Prefs.LoginServer };
        return Task.FromResult(Snapshot());
    }

    public Task DownAsync(CancellationToken cancellationToken)
    {
        Downs++;
        State = BackendState.Stopped;
        Netmap = null;
        Prefs = Prefs with { WantRunning = false };
        return Task.CompletedTask;
    }

    public Task<string?> LogoutAsync(CancellationToken cancellationToken)
    {
        Logouts++;
        State = BackendState.NeedsLogin;
        Netmap = null;
        Prefs = Prefs with { WantRunning = false, Registered = false };
        return Task.FromResult<string?>(null);
    }

    public Task<NodePrefs> EditPrefsAsync(PrefsEdit edit, CancellationToken cancellationToken)
    {
        Edits.Add(edit);
        Prefs = Prefs with
        {
            Hostname = edit.Hostname ?? Prefs.Hostname,
            WantRunning = edit.WantRunning ?? Prefs.WantRunning,
            LoginServer = edit.LoginServer?.ToString() ?? Prefs.LoginServer,
            AdvertiseTags = edit.AdvertiseTags ?? Prefs.AdvertiseTags,
        };
        return Task.FromResult(Prefs);
    }

    private static NodePublicKey NewKey() => X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());

    private static WireNode Node(string id, string name, NodePublicKey key, int host, string user = "alice", string[]? tags = null) => new()
    {
        Id = id,
        Name = name,
        NodeKey = key,
        Addresses = [$"100.64.0.{host}/32", $"fd7a:115c:a1e0::{host}/128"],
        AllowedIps = [$"100.64.0.{host}/32", $"fd7a:115c:a1e0::{host}/128"],
        User = user,
        Tags = tags ?? [],
        Online = true,
    };
}

/// <summary>A LocalAPI server on a socket in a fresh temporary directory, removed on dispose.</summary>
internal sealed class LocalApiHost : IAsyncDisposable
{
    private LocalApiHost(string directory, LocalApiServer server)
    {
        Directory = directory;
        Server = server;
    }

    public string Directory { get; }

    public LocalApiServer Server { get; }

    public string SocketPath => Server.SocketPath;

    public static async Task<LocalApiHost> StartAsync(ILocalBackend backend)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("mw-lapi").FullName;
        var server = await LocalApiServer.StartAsync(Path.Combine(directory, "run", "meshwired.sock"), backend);
        return new LocalApiHost(directory, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
