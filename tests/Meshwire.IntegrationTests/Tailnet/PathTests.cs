using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// The path layer and identity on the flat lab, through the CLI an operator would use: whois of a live
/// connection, the peers and paths of `meshwire status --json`, and the relay carrying traffic when UDP between
/// two nodes is cut.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class PathTests(ITestOutputHelper output)
{
    private const string OpenPolicy = """{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}""";
    private const int Listener = 9090;

    private static readonly TimeSpan Join = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FirstPacket = TimeSpan.FromSeconds(30);

    [TailnetFact]
    public async Task Whois_ConnectionFromPeer_NamesPeerAndUserAndUnknownAddressExitsOne()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var (ipA, ipB) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join));
        using var listener = b.Listen(Listener);
        await a.WaitForTcpAsync(ipB, Listener, FirstPacket);
        var (open, opened) = await a.TcpConnectAsync(ipB, Listener, FirstPacket);
        Assert.True(open is not null, $"TCP alpha → beta: {opened}");
        using var connection = open;

        // The last connection accepted is the one still open; its source is what a server on beta would ask about.
        var remote = listener.Remotes[^1];
        Assert.Equal(ipA, remote.Address);
        var whois = b.Cli("whois", remote.ToString(), "--json");
        lab.Log($"beta: meshwire whois {remote} --json → exit {whois.ExitCode}: {whois.Output.Trim()}");
        Assert.True(whois.ExitCode == 0, $"whois {remote}: exit {whois.ExitCode}: {whois.Error}{whois.Output}");
        using (var doc = JsonDocument.Parse(whois.Output))
        {
            var node = doc.RootElement.GetProperty("Node");
            Assert.Equal("alpha", node.GetProperty("ComputedName").GetString());
            Assert.StartsWith("alpha.", node.GetProperty("Name").GetString(), StringComparison.Ordinal);
            Assert.Contains($"{ipA}/32", node.GetProperty("Addresses").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(TailnetLab.User, doc.RootElement.GetProperty("UserProfile").GetProperty("LoginName").GetString());
        }

        // An address in the tailnet's range that no node holds.
        var bytes = ipA.GetAddressBytes();
        bytes[3] = 254;
        var nobody = new IPEndPoint(new IPAddress(bytes), 4242);
        Assert.NotEqual(ipB, nobody.Address);
        var unknown = b.Cli("whois", nobody.ToString(), "--json");
        lab.Log($"beta: meshwire whois {nobody} --json → exit {unknown.ExitCode}: {unknown.Error.Trim()}{unknown.Output.Trim()}");
        Assert.Equal(1, unknown.ExitCode);
    }

    [TailnetFact]
    public async Task Status_PeersOnOneBridge_ListsPeersAndPathTurnsDirectWithinFiveSeconds()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var c = await lab.AddNodeAsync("gamma");
        var (ipB, ipC) = (await b.WaitForAddressAsync(Join), await c.WaitForAddressAsync(Join));
        await a.WaitForAddressAsync(Join);
        await a.WaitForPeersAsync(p => p.Contains("beta") && p.Contains("gamma"), "peers beta and gamma", Join);

        using (var status = a.Status())
        {
            var peers = status.RootElement.GetProperty("peers").EnumerateArray()
                .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("addresses").EnumerateArray().Select(e => e.GetString()).ToList());
            Assert.True(peers.ContainsKey("beta") && peers.ContainsKey("gamma"), $"alpha's status lists [{string.Join(", ", peers.Keys)}]");
            Assert.Contains(ipB.ToString(), peers["beta"]);
            Assert.Contains(ipC.ToString(), peers["gamma"]);
        }

        var clock = Stopwatch.StartNew();
        var first = await a.WaitForPingAsync(ipB, FirstPacket);
        TimeSpan? direct = null;
        var path = "absent";
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            path = a.PathTo("beta") ?? "absent";
            if (path == "direct")
            {
                direct = clock.Elapsed;
                break;
            }

            a.Ping(ipB, count: 1, waitSeconds: 0.5);
            await Task.Delay(100);
        }

        lab.Log($"alpha → beta: first ping after {first.TotalMilliseconds:F0} ms; path {path} after {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(direct is not null, $"alpha's path to beta is still {path}\n{lab.Logs()}");
        Assert.True(direct <= TimeSpan.FromSeconds(5), $"direct only after {direct!.Value.TotalMilliseconds:F0} ms");
    }

    [TailnetFact]
    public async Task Ping_UdpBlockedBetweenTwoNodes_TrafficFlowsOverTheRelay()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var key = await lab.CreateAuthKeyAsync(reusable: true);
        var b = lab.AddNodeWithKey("beta", key);

        // From alpha's first packet on, no UDP reaches beta's underlay or comes from it; the relay (TCP) stays reachable.
        var a = lab.AddNodeWithKey("alpha", key, node =>
        {
            node.Namespace.Exec("iptables", "-A", "OUTPUT", "-p", "udp", "-d", b.Underlay, "-j", "DROP").EnsureSuccess("block udp out");
            node.Namespace.Exec("iptables", "-A", "INPUT", "-p", "udp", "-s", b.Underlay, "-j", "DROP").EnsureSuccess("block udp in");
        });
        var (ipA, ipB) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join));
        lab.Log($"alpha → beta: first ping after {(await a.WaitForPingAsync(ipB, FirstPacket)).TotalMilliseconds:F0} ms");

        // Give discovery the time it would need to go direct, with traffic, before judging.
        for (var i = 0; i < 10; i++)
        {
            a.Ping(ipB, count: 1, waitSeconds: 0.5);
            await Task.Delay(200);
        }

        Assert.True(a.Ping(ipB, count: 3), $"alpha → beta ping\n{lab.Logs()}");
        Assert.True(b.Ping(ipA, count: 3), $"beta → alpha ping\n{lab.Logs()}");
        var ping = a.Cli("ping", "-c", "3", ipB.ToString());
        lab.Log($"alpha: meshwire ping -c 3 {ipB} → exit {ping.ExitCode}:\n{ping.Output.Trim()}");
        Assert.True(ping.ExitCode == 0, $"meshwire ping: {ping.Error}{ping.Output}\n{lab.Logs()}");
        var lines = ping.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines.Where(l => l.StartsWith("pong", StringComparison.Ordinal)), l => Assert.Contains("via relay", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("pong", StringComparison.Ordinal));
        Assert.Equal("relay", a.PathTo("beta"));
    }

    [TailnetFact]
    public async Task DirectPathCut_WhileTrafficFlows_FallsBackToRelayWithinSeconds()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var ipB = await b.WaitForAddressAsync(Join);
        await a.WaitForPingAsync(ipB, FirstPacket);
        await WaitForPathAsync(a, "beta", "direct", TimeSpan.FromSeconds(10));

        // Cut UDP between the two underlays (the relay, over TCP, stays reachable) and keep pinging.
        a.Namespace.Exec("iptables", "-A", "OUTPUT", "-p", "udp", "-d", b.Underlay, "-j", "DROP").EnsureSuccess("block udp out");
        a.Namespace.Exec("iptables", "-A", "INPUT", "-p", "udp", "-s", b.Underlay, "-j", "DROP").EnsureSuccess("block udp in");
        var cut = Stopwatch.StartNew();
        TimeSpan? recovered = null;
        while (cut.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (a.Ping(ipB, count: 1, waitSeconds: 0.3) && cut.Elapsed > TimeSpan.FromMilliseconds(300))
            {
                recovered = cut.Elapsed;
                break;
            }
        }

        lab.Log($"alpha → beta: direct path cut; pings answered again after {recovered?.TotalMilliseconds:F0} ms");
        Assert.True(recovered is not null, $"no ping reply within 20 s of the cut\n{lab.Logs()}");
        Assert.True(recovered <= TimeSpan.FromSeconds(10), $"the relay took over only after {recovered!.Value.TotalMilliseconds:F0} ms");
        Assert.Equal("relay", a.PathTo("beta"));
    }

    [TailnetFact]
    public async Task Netcheck_BehindEasyAndHardNat_ReportsUdpMappingKindAndRelayLatency()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        var stunServers = TailnetLab.HasCoturn ? 2 : 1;
        if (TailnetLab.HasCoturn)
        {
            await lab.StartSecondStunAsync();
        }

        var a = await lab.AddNatNodeAsync("alpha", NatKind.Easy);
        var b = await lab.AddNatNodeAsync("beta", NatKind.Hard);
        await a.WaitForAddressAsync(Join);
        await b.WaitForAddressAsync(Join);

        var result = a.Cli("netcheck", "--json");
        lab.Log($"alpha (behind easy NAT): meshwire netcheck --json → exit {result.ExitCode}: {result.Output.Trim()}");
        Assert.True(result.ExitCode == 0, $"netcheck: {result.Error}{result.Output}");
        using var doc = JsonDocument.Parse(result.Output);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("udp").GetBoolean());
        var mapped = IPEndPoint.Parse(root.GetProperty("mappedV4").GetString()!);
        Assert.StartsWith(TailnetLab.Subnet + ".", mapped.Address.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(a.Underlay, mapped.Address.ToString());
        Assert.Equal("lab", root.GetProperty("preferredRelayRegion").GetString());
        Assert.True(root.GetProperty("relayLatencyMs").TryGetProperty("lab", out _));
        if (stunServers == 2)
        {
            // MASQUERADE keeps one public port for every destination; --random-fully picks one per destination.
            Assert.True(root.GetProperty("endpointIndependentMapping").GetBoolean(), "easy NAT: endpoint-independent mapping");
            var hard = b.Cli("netcheck", "--json");
            lab.Log($"beta (behind hard NAT): meshwire netcheck --json → exit {hard.ExitCode}: {hard.Output.Trim()}");
            using var hardDoc = JsonDocument.Parse(hard.Output);
            Assert.False(hardDoc.RootElement.GetProperty("endpointIndependentMapping").GetBoolean(), "hard NAT: mapping depends on the destination");
        }

        var human = a.Cli("netcheck");
        lab.Log($"alpha: meshwire netcheck →\n{human.Output.Trim()}");
        Assert.Equal(0, human.ExitCode);
    }

    [TailnetFact]
    public async Task Roaming_NodeAddressChanges_TunnelRecoversWithoutUserAction()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var (ipA, ipB) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join));
        await a.WaitForPingAsync(ipB, FirstPacket);
        await WaitForPathAsync(b, "alpha", "direct", TimeSpan.FromSeconds(10));

        // Alpha moves to another address on the same network (a new DHCP lease, another Wi-Fi).
        var moved = $"{TailnetLab.Subnet}.250";
        // (Old one first: deleting a primary address also deletes the secondaries of its subnet.)
        a.Namespace.Exec("ip", "addr", "del", $"{a.Underlay}/24", "dev", "eth0").EnsureSuccess("old address gone");
        a.Namespace.Exec("ip", "addr", "add", $"{moved}/24", "dev", "eth0").EnsureSuccess("new address");
        var clock = Stopwatch.StartNew();
        TimeSpan? recovered = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (b.Ping(ipA, count: 1, waitSeconds: 0.3) && a.Ping(ipB, count: 1, waitSeconds: 0.3))
            {
                recovered = clock.Elapsed;
                break;
            }
        }

        lab.Log($"alpha moved to {moved}: traffic both ways again after {recovered?.TotalMilliseconds:F0} ms; beta's path to alpha: {b.PathTo("alpha")}");
        Assert.True(recovered is not null && recovered <= TimeSpan.FromSeconds(10), $"no traffic within 10 s of the move\n{lab.Logs()}");
    }

    private static async Task WaitForPathAsync(TailnetNode node, string peer, string kind, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string? path = null;
        while (clock.Elapsed < timeout)
        {
            path = node.PathTo(peer);
            if (path == kind)
            {
                return;
            }

            node.Ping(IPAddress.Loopback, count: 1, waitSeconds: 0.1);
            await Task.Delay(200);
        }

        Assert.Fail($"{node.Name}'s path to {peer} is {path}, not {kind}, after {timeout.TotalSeconds} s");
    }
}
