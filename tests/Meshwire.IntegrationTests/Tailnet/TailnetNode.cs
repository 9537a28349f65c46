using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// One node of a <see cref="TailnetLab"/>: its own namespace (eth0 on the lab bridge), a state directory, a
/// LocalAPI socket path and a real meshwired process. Probes (ping, TCP) run from inside the namespace and are
/// bounded by timeouts.
/// </summary>
internal sealed class TailnetNode : IDisposable
{
    private readonly TailnetLab _lab;

    internal TailnetNode(TailnetLab lab, string name, NetNamespace ns, string underlay, string tun, string stateDirectory, string authKey, NetNamespace? router = null)
    {
        Router = router;
        _lab = lab;
        Name = name;
        Namespace = ns;
        Underlay = underlay;
        Tun = tun;
        StateDirectory = stateDirectory;
        SocketPath = Path.Combine(stateDirectory, "meshwired.sock");
        AuthKey = authKey;
    }

    /// <summary>The host name it registers with (also its name in the tailnet unless it collides).</summary>
    public string Name { get; }

    public NetNamespace Namespace { get; }

    /// <summary>The NAT router namespace in front of the node (<see cref="NatKind"/>); null when the node sits on the bridge.</summary>
    public NetNamespace? Router { get; }

    /// <summary>The node's own address: on the lab bridge (the "internet" side), or its private one behind a router.</summary>
    public string Underlay { get; }

    public string Tun { get; }

    public string StateDirectory { get; }

    /// <summary>The LocalAPI socket meshwired is given with --socket (when it supports the flag).</summary>
    public string SocketPath { get; }

    public string AuthKey { get; }

    public LabProcess? Daemon { get; private set; }

    public string NetmapPath => Path.Combine(StateDirectory, "netmap.json");

    /// <summary>Starts meshwired (again, with the same state directory after a kill).</summary>
    public void Start()
    {
        if (Daemon is { HasExited: false })
        {
            throw new InvalidOperationException($"{Name}'s meshwired is already running");
        }

        Daemon?.Dispose();
        List<string> args = ["--state", StateDirectory, "--tun", Tun, "--login-server", _lab.ControlUrl.ToString(), "--hostname", Name, "--authkey", AuthKey];
        if (TailnetLab.DaemonTakesSocket)
        {
            args.AddRange(["--socket", SocketPath]);
        }

        var environment = _lab.DaemonLogLevel is { } level ? new Dictionary<string, string> { ["LOG_LEVEL"] = level } : null;
        Daemon = LabProcess.Start($"meshwired {Name}", Namespace, TailnetLab.Program("meshwired"), args, environment);
    }

    public void Kill9() => Daemon?.Kill9();

    public bool Stop() => Daemon?.Terminate() ?? true;

    /// <summary>The node's tailnet IPv4 address from its cached map; null before the first map.</summary>
    public IPAddress? TailnetAddress => SelfAddress(4);

    public IPAddress? TailnetAddress6 => SelfAddress(6);

    /// <summary>Waits for the first map (registration done, address assigned) and returns the IPv4 address.</summary>
    public async Task<IPAddress> WaitForAddressAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (TailnetAddress is { } address)
            {
                return address;
            }

            if (Daemon is { HasExited: true })
            {
                break;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} got no tailnet address within {timeout.TotalSeconds} s\n{Daemon}");
    }

    /// <summary>Names of the peers in the node's current map (what its WireGuard peer table is built from).</summary>
    public IReadOnlyList<string> PeerNames()
    {
        using var map = ReadNetmap();
        if (map is null || !map.RootElement.TryGetProperty("peers", out var peers) || peers.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        return [.. peers.EnumerateArray().Select(p => p.GetProperty("name").GetString() ?? "").Order(StringComparer.Ordinal)];
    }

    /// <summary>Waits until the peer list satisfies <paramref name="condition"/>; returns how long it took.</summary>
    public async Task<TimeSpan> WaitForPeersAsync(Func<IReadOnlyList<string>, bool> condition, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition(PeerNames()))
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name}: {what} not reached within {timeout.TotalSeconds} s; peers now [{string.Join(", ", PeerNames())}]\n{Daemon}");
            }

            await Task.Delay(50);
        }

        return clock.Elapsed;
    }

    /// <summary>Runs a command inside the node's namespace.</summary>
    public Shell.Result Exec(TimeSpan timeout, string file, params string[] args) => Namespace.Exec(timeout, file, args);

    /// <summary>The meshwire CLI against this node's LocalAPI: `meshwire --socket PATH ARGS...`.</summary>
    public Shell.Result Cli(params string[] args) =>
        Namespace.Exec(TimeSpan.FromSeconds(30), TailnetLab.Program("meshwire"), ["--socket", SocketPath, .. args]);

    /// <summary>`meshwire whois IP:PORT` asked on this node (which peer, user and tags own a connection).</summary>
    public Shell.Result Whois(IPEndPoint remote) => Cli("whois", remote.ToString());

    /// <summary>`meshwire status --json` (the LocalAPI's StatusResponse); throws with the output when it fails.</summary>
    public JsonDocument Status()
    {
        var result = Cli("status", "--json").EnsureSuccess($"{Name}: meshwire status --json");
        return JsonDocument.Parse(result.Output);
    }

    /// <summary>The path kind ("direct", "relay", "none") to <paramref name="peer"/> in this node's status; null when it is not listed.</summary>
    public string? PathTo(string peer)
    {
        using var status = Status();
        foreach (var p in status.RootElement.GetProperty("peers").EnumerateArray())
        {
            if (p.GetProperty("name").GetString() == peer)
            {
                return p.GetProperty("path").GetProperty("kind").GetString();
            }
        }

        return null;
    }

    /// <summary>
    /// One ping process that sends every 50 ms until the first reply (or <paramref name="timeout"/>); returns the
    /// time to that reply, null when none came. Unlike <see cref="WaitForPingAsync"/> a lost first packet costs
    /// 50 ms, not a whole -W, so the number is the tunnel's and not the probe's.
    /// </summary>
    public TimeSpan? FirstReply(IPAddress target, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var result = Namespace.Exec(timeout + TimeSpan.FromSeconds(5), "ping", "-4", "-c", "1", "-i", "0.05",
            "-w", ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture), "-n", "-q", target.ToString());
        return result.ExitCode == 0 ? clock.Elapsed : null;
    }

    /// <summary>Sends <paramref name="count"/> pings; true when at least one was answered.</summary>
    public bool Ping(IPAddress target, int count = 1, double waitSeconds = 1) =>
        PingResult(target, count, waitSeconds).ExitCode == 0;

    public Shell.Result PingResult(IPAddress target, int count = 1, double waitSeconds = 1) =>
        Namespace.Exec(TimeSpan.FromSeconds((count * 0.2) + waitSeconds + 5), "ping", target.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "-6" : "-4",
            "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.2", "-W", waitSeconds.ToString(CultureInfo.InvariantCulture), "-n", "-q", target.ToString());

    /// <summary>Pings until one is answered (the first packets may wait for a handshake); returns how long it took.</summary>
    public async Task<TimeSpan> WaitForPingAsync(IPAddress target, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Shell.Result? last = null;
        while (clock.Elapsed < timeout)
        {
            last = PingResult(target);
            if (last.ExitCode == 0)
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} → {target}: no ping reply within {timeout.TotalSeconds} s: {last?.Output.Trim()}\n{_lab.Logs()}");
    }

    /// <summary>Connects to <paramref name="address"/>:<paramref name="port"/> from inside this node and checks an echo.</summary>
    public async Task<TcpProbeResult> TcpProbeAsync(IPAddress address, int port, TimeSpan timeout)
    {
        var (client, result) = await TcpEchoClient.ConnectAsync(Namespace, address, port, timeout);
        client?.Dispose();
        return result;
    }

    /// <summary>Probes until a TCP echo succeeds (the first SYN may wait for a handshake); returns how long it took.</summary>
    public async Task<TimeSpan> WaitForTcpAsync(IPAddress address, int port, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        TcpProbeResult? last = null;
        while (clock.Elapsed < timeout)
        {
            last = await TcpProbeAsync(address, port, TimeSpan.FromSeconds(3));
            if (last.Succeeded)
            {
                return clock.Elapsed;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Name} → {address}:{port}: TCP {last}\n{_lab.Logs()}");
    }

    /// <summary>Keeps a TCP connection open (for tests that check it survives something); dispose to close.</summary>
    public Task<(TcpEchoClient? Client, TcpProbeResult Result)> TcpConnectAsync(IPAddress address, int port, TimeSpan timeout) =>
        TcpEchoClient.ConnectAsync(Namespace, address, port, timeout);

    /// <summary>A TCP echo listener on all of this node's addresses (tailnet ones included).</summary>
    public TcpEchoListener Listen(int port) => new(Namespace, port);

    public void Dispose()
    {
        Daemon?.Dispose();
        Namespace.Dispose();
        Router?.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A daemon that would not die may still hold a file; the temp dir is left behind.
        }
    }

    public override string ToString() => Daemon?.ToString() ?? $"--- {Name} (not started)";

    private JsonDocument? ReadNetmap()
    {
        try
        {
            return File.Exists(NetmapPath) ? JsonDocument.Parse(File.ReadAllBytes(NetmapPath)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            // Replaced between the check and the read; the next poll sees the new file.
            return null;
        }
    }

    private IPAddress? SelfAddress(int family)
    {
        using var map = ReadNetmap();
        return map is not null && map.RootElement.TryGetProperty("self", out var self) ? AddressOf(self, family) : null;
    }

    private static IPAddress? AddressOf(JsonElement node, int family)
    {
        foreach (var a in node.GetProperty("addresses").EnumerateArray())
        {
            var text = a.GetString()!.Split('/')[0];
            if (IPAddress.TryParse(text, out var ip) && (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) == (family == 4))
            {
                return ip;
            }
        }

        return null;
    }
}
