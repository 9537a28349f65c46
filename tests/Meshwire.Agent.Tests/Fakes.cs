using System.Net;
using System.Net.Sockets;
using Meshwire.Agent.Interface;
using Meshwire.Agent.Translation;
using Meshwire.Control.Api;
using Meshwire.Control.Hosting;
using Meshwire.Core;
using Meshwire.WireGuard.Config;

namespace Meshwire.Agent.Tests;

/// <summary>An engine that only keeps the peer table it was configured with.</summary>
internal sealed class FakeEngine : IConfigurableDevice
{
    private readonly Lock _lock = new();
    private readonly Dictionary<NodePublicKey, PeerStatus> _peers = [];
    private NodePrivateKey? _key;
    private ushort _port = 40000;

    public int Updates { get; private set; }

    public DeviceStatus GetStatus()
    {
        lock (_lock)
        {
            return new DeviceStatus(_key, _port, 0, [.. _peers.Values]);
        }
    }

    public PeerStatus? Peer(NodePublicKey key)
    {
        lock (_lock)
        {
            return _peers.GetValueOrDefault(key);
        }
    }

    public int Apply(DeviceConfigUpdate update)
    {
        lock (_lock)
        {
            Updates++;
            _key = update.PrivateKey ?? _key;
            _port = update.ListenPort ?? _port;
            foreach (var peer in update.Peers)
            {
                if (peer.Remove)
                {
                    _peers.Remove(peer.PublicKey);
                    continue;
                }

                var old = _peers.GetValueOrDefault(peer.PublicKey);
                _peers[peer.PublicKey] = new PeerStatus(
                    peer.PublicKey,
                    default,
                    peer.Endpoint ?? old?.Endpoint,
                    peer.PersistentKeepaliveInterval ?? old?.PersistentKeepaliveInterval ?? 0,
                    null,
                    0,
                    0,
                    peer.ReplaceAllowedIps || old is null ? [.. peer.AllowedIps] : [.. old.AllowedIps, .. peer.AllowedIps]);
            }

            return 0;
        }
    }
}

/// <summary>Records the addressing the agent asked for.</summary>
internal sealed class FakeInterface : IInterfaceConfigurator
{
    public InterfaceAddressing Current { get; private set; } = InterfaceAddressing.None;

    public void Apply(InterfaceAddressing previous, InterfaceAddressing wanted) => Current = wanted;
}

/// <summary>A real control server (a fixed port, so a restart comes back at the same URL).</summary>
internal sealed class ControlHost : IAsyncDisposable
{
    private ControlServer? _server;

    private ControlHost(string state, string address, int port)
    {
        State = state;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public string State { get; }

    public int Port { get; }

    public Uri Url => new($"http://{Address}:{Port}/");

    public ControlServer Server => _server ?? throw new InvalidOperationException("stopped");

    /// <summary>Listens on <paramref name="address"/> (loopback unless a lab gives one of its own veth addresses).</summary>
    public static async Task<ControlHost> StartAsync(string address = "127.0.0.1")
    {
        var host = new ControlHost(Directory.CreateTempSubdirectory("meshwire-agent-control").FullName, address, FreePort());
        await host.StartAgainAsync();
        return host;
    }

    public async Task StartAgainAsync()
    {
        var options = new ControlOptions { StateDirectory = State, AdminSocket = false, KeepAliveInterval = TimeSpan.FromSeconds(30) };
        options.Urls.Add(Url.ToString().TrimEnd('/'));
        _server = await ControlServer.StartAsync(options);
    }

    public async Task StopAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.DisposeAsync();
        }
    }

    public async Task<string> AuthKeyAsync(string user = "alice", bool reusable = true)
    {
        if ((await Server.Service.ListUsersAsync()).All(u => u.Login != user))
        {
            await Server.Service.CreateUserAsync(user);
        }

        return (await Server.Service.CreateAuthKeyAsync(new CreateAuthKeyRequest(user, Reusable: reusable))).Key!;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(State, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal static class Eventually
{
    /// <summary>Waits for real I/O (a real server and sockets) to reach a state; fails after <paramref name="timeoutMs"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }
}
