using Meshwire.Control.Api;
using Meshwire.Control.Client;
using Meshwire.Control.Hosting;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Meshwire.Testing;

namespace Meshwire.Control.Tests;

/// <summary>
/// A real server on 127.0.0.1:0 with a throwaway state directory and a fake clock that starts weeks into a Linux
/// host's uptime (nanosecond timestamps), as a real server's does.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(ControlServer server, string state, string? database, UptimeClock time)
    {
        Server = server;
        State = state;
        Database = database;
        Time = time;
    }

    public ControlServer Server { get; }

    public string State { get; }

    /// <summary>The PostgreSQL connection string, or null for SQLite in <see cref="State"/> (a restart passes it back).</summary>
    public string? Database { get; }

    public UptimeClock Time { get; }

    public ControlService Service => Server.Service;

    public Uri Url => Server.BaseAddress;

    public static async Task<TestServer> StartAsync(Action<ControlOptions>? configure = null, string? state = null, string? database = null, TimeSpan? uptime = null)
    {
        state ??= Directory.CreateTempSubdirectory("meshwire-control-test").FullName;
        var time = new UptimeClock(uptime);
        var options = new ControlOptions { StateDirectory = state, Time = time, AdminSocket = false, KeepAliveInterval = TimeSpan.FromSeconds(30), Database = database };

        // The fake clock stands still unless a test advances it, so buckets would never refill: tests of the limits
        // set their own.
        options.HandshakeRatePerSource = RateLimit.Unlimited;
        options.RegistrationRatePerSource = RateLimit.Unlimited;
        options.RegistrationRatePerAuthKey = RateLimit.Unlimited;
        options.Urls.Add("http://127.0.0.1:0");
        configure?.Invoke(options);
        return new TestServer(await ControlServer.StartAsync(options), state, database, time);
    }

    public async Task<string> AuthKeyAsync(string user = "alice", bool reusable = false, IReadOnlyList<string>? tags = null)
    {
        if ((await Service.ListUsersAsync()).All(u => u.Login != user))
        {
            await Service.CreateUserAsync(user);
        }

        return (await Service.CreateAuthKeyAsync(new CreateAuthKeyRequest(user, reusable, Tags: tags))).Key!;
    }

    /// <summary>
    /// A node: machine key, node key, disco key, connected and registered. Its client runs on the real clock (it
    /// never rekeys within a test) unless <paramref name="clientTime"/> is given (pass <see cref="Time"/>).
    /// </summary>
    public async Task<TestNode> JoinAsync(string hostname, string? authKey = null, TimeProvider? clientTime = null, MachinePrivateKey? machineKey = null)
    {
        authKey ??= await AuthKeyAsync();
        var machine = machineKey ?? ControlClient.GenerateMachineKey();
        var client = await ControlClient.ConnectAsync(Url, machine, time: clientTime);
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
        var result = await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = hostname, AuthKey = authKey }, nodePrivate);
        return new TestNode(client, nodeKey, new DiscoPublicKey(X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey()).Value), result) { NodePrivate = nodePrivate };
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(State, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed record TestNode(ControlClient Client, NodePublicKey NodeKey, DiscoPublicKey DiscoKey, RegisterResult Registered)
{
    /// <summary>The node key's private half: registering again proves possession with it.</summary>
    public required NodePrivateKey NodePrivate { get; init; }

    public MapRequest MapRequest(params string[] endpoints) => new() { NodeKey = NodeKey, DiscoKey = DiscoKey, Endpoints = endpoints, HomeRelay = 1 };
}

/// <summary>Reads a stream in the background into a NetmapView; waits for a condition with a real timeout.</summary>
internal sealed class StreamWatcher : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly SemaphoreSlim _changed = new(0);
    private NetmapView? _view;

    public StreamWatcher(TestNode node, params string[] endpoints)
    {
        _loop = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in node.Client.StreamMapAsync(node.MapRequest(endpoints), _stop.Token))
                {
                    lock (Messages)
                    {
                        Messages.Add(message);
                    }

                    _view = _view is null ? NetmapView.From((MapFull)message) : _view.Apply(message);
                    _changed.Release();
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (ControlProtocolException e)
            {
                Error = e;
                _changed.Release();
            }
        });
    }

    public List<ControlMessage> Messages { get; } = [];

    public ControlProtocolException? Error { get; private set; }

    /// <summary>Completes when the stream has ended (the channel closed, an error, or disposal).</summary>
    public Task Completion => _loop;

    public NetmapView? View => _view;

    public async Task<NetmapView> WaitAsync(Func<NetmapView, bool> condition, int timeoutMs = 10000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (true)
        {
            if (_view is { } v && condition(v))
            {
                return v;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _changed.WaitAsync(left))
            {
                throw new TimeoutException($"stream condition not met; last view has {_view?.Peers.Count} peers; error {Error?.Message}");
            }
        }
    }

    public async Task WaitErrorAsync(int timeoutMs = 10000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (Error is null)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _changed.WaitAsync(left))
            {
                throw new TimeoutException("no error arrived");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
