using Meshwire.Agent.Interface;
using Meshwire.Agent.State;
using Meshwire.IntegrationTests.Lab;
using Meshwire.Net.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Agent.Tests;

/// <summary>
/// Two agents, in-process, each with its WireGuard engine (TUN + UDP socket) created inside its own namespace;
/// the namespaces are joined by a veth pair (underlay 10.207.N.1/.2). The control server listens on this process's
/// loopback, which the agents reach because their control sockets live in the root namespace. Every address used
/// is inside namespaces this test creates; Dispose removes them.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AgentLabTests
{
    [RootFact]
    public async Task TwoAgents_JoinThroughControl_PingEachOtherOverTheTailnet()
    {
        var id = (Environment.ProcessId % 200) + 20;
        var tag = $"{Environment.ProcessId}-{id}";
        await using var control = await ControlHost.StartAsync();
        var key = await control.AuthKeyAsync();
        using var a = new NetNamespace($"mwag-{tag}-a");
        using var b = new NetNamespace($"mwag-{tag}-b");
        Shell.Run("ip", "link", "add", $"mwagva{id}", "netns", a.Name, "type", "veth", "peer", "name", $"mwagvb{id}", "netns", b.Name).EnsureSuccess("veth");
        a.Exec("ip", "addr", "add", $"10.207.{id}.1/24", "dev", $"mwagva{id}").EnsureSuccess("addr a");
        b.Exec("ip", "addr", "add", $"10.207.{id}.2/24", "dev", $"mwagvb{id}").EnsureSuccess("addr b");
        a.Exec("ip", "link", "set", $"mwagva{id}", "up").EnsureSuccess("up a");
        b.Exec("ip", "link", "set", $"mwagvb{id}", "up").EnsureSuccess("up b");

        await using var nodeA = StartNode(a, $"mwag{id}a", $"10.207.{id}.1", control, key);
        await using var nodeB = StartNode(b, $"mwag{id}b", $"10.207.{id}.2", control, key);
        await Eventually.TrueAsync(() => nodeA.Agent.Netmap?.Peers.Count == 1 && nodeB.Agent.Netmap?.Peers.Count == 1, "both agents to see each other");
        await Eventually.TrueAsync(() => nodeA.Agent.Netmap!.Peers.Values.Single().Endpoints.Count > 0, "alpha to learn beta's endpoint");

        // Without the path layer a first handshake that reaches beta before beta holds alpha as a peer is lost and
        // WireGuard retries after 5 s: ping until a reply comes (bounded), as a user would.
        var addressB = nodeB.Agent.Netmap!.Self.Addresses.First(x => x.StartsWith("100.", StringComparison.Ordinal)).Split('/')[0];
        var ping = await PingUntilReplyAsync(a, addressB, "-4");
        Assert.True(ping.ExitCode == 0, $"ping {addressB} from alpha failed: {ping.Output} {ping.Error}");

        var addressA6 = nodeA.Agent.Netmap!.Self.Addresses.First(x => x.Contains(':')).Split('/')[0];
        var ping6 = await PingUntilReplyAsync(b, addressA6, "-6");
        Assert.True(ping6.ExitCode == 0, $"ping {addressA6} from beta failed: {ping6.Output} {ping6.Error}");
    }

    private static async Task<Shell.Result> PingUntilReplyAsync(NetNamespace from, string address, string family)
    {
        Shell.Result result;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            result = from.Exec(TimeSpan.FromSeconds(10), "ping", family, "-c", "3", "-i", "0.2", "-W", "2", address);
            if (result.ExitCode == 0)
            {
                break;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        return result;
    }

    private static LabNode StartNode(NetNamespace ns, string tun, string underlay, ControlHost control, string key)
    {
        var state = Directory.CreateTempSubdirectory("meshwire-agent-lab").FullName;
        var engine = NamespaceThread.Run(ns.Name, () => WireGuardEngine.Start(tun, NullLogger.Instance, queues: 1));
        var options = new AgentOptions
        {
            LoginServer = control.Url,
            AuthKey = key,
            Hostname = tun,
            // The engine keeps the port it got inside the namespace: a rebind here would open the socket in ours.
            Endpoints = port => [$"{underlay}:{port}"],
            MinBackoff = TimeSpan.FromMilliseconds(100),
        };
        var agent = new Agent(NodeStateStore.Open(state), engine, new IpRouteConfigurator(tun, ["ip", "netns", "exec", ns.Name]), options, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        return new LabNode(agent, engine, stop, Task.Run(() => agent.RunAsync(stop.Token)), state);
    }

    private sealed record LabNode(Agent Agent, WireGuardEngine Engine, CancellationTokenSource Stop, Task Run, string State) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Stop.CancelAsync();
            await Run;
            Engine.Dispose();
            Directory.Delete(State, recursive: true);
        }
    }
}
