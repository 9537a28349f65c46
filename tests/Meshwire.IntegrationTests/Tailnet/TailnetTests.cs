using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// A real tailnet in namespaces (<see cref="TailnetLab"/>): meshwire-control, meshwire-relay and one meshwired
/// per node, driven through the admin verbs and REST API; assertions are on real packets (ping, TCP echo).
/// Timings go to the test output.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class TailnetTests(ITestOutputHelper output)
{
    /// <summary>
    /// alpha may start anything towards beta; gamma may open TCP 8022 on alpha and nothing else; nobody else may
    /// start a conversation. Replies pass because each node's filter tracks the flows it started.
    /// </summary>
    private const string SegmentedPolicy = """
        {
          "tagOwners": {
            "tag:alpha": ["lab@example.com"],
            "tag:beta":  ["lab@example.com"],
            "tag:gamma": ["lab@example.com"],
          },
          "acls": [
            {"action": "accept", "src": ["tag:alpha"], "dst": ["tag:beta:*"]},
            // "proto": ICMP is not allowed along: a port-only rule would still let gamma ping alpha.
            {"action": "accept", "proto": "tcp", "src": ["tag:gamma"], "dst": ["tag:alpha:8022"]},
          ],
          "tests": [
            {"src": "tag:alpha", "accept": ["tag:beta:8080"], "deny": ["tag:gamma:8080"]},
            {"src": "tag:gamma", "accept": ["tag:alpha:8022"], "deny": ["tag:alpha:8080", "tag:beta:8080"]},
            {"src": "tag:beta", "deny": ["tag:alpha:8080", "tag:gamma:8080"]},
          ],
        }
        """;

    private const string OpenPolicy = """{"acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}""";

    private const int Echo = 8080;
    private const int GammaToAlpha = 8022;

    private static readonly TimeSpan Join = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FirstPacket = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DeniedWait = TimeSpan.FromSeconds(3);

    [TailnetFact]
    public async Task Policy_AlphaMayReachBetaOnly_AllowedFlowsPassAndOthersAreDropped()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(SegmentedPolicy);
        var a = await lab.AddNodeAsync("alpha", "tag:alpha");
        var b = await lab.AddNodeAsync("beta", "tag:beta");
        var c = await lab.AddNodeAsync("gamma", "tag:gamma");
        var (ipA, ipB, ipC) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join), await c.WaitForAddressAsync(Join));
        lab.Log($"addresses: alpha {ipA}, beta {ipB}, gamma {ipC}");

        // Visibility follows the rules in either direction: alpha sees beta and gamma, beta and gamma see only alpha.
        await a.WaitForPeersAsync(p => p.SequenceEqual(["beta", "gamma"]), "peers beta and gamma", Join);
        await b.WaitForPeersAsync(p => p.SequenceEqual(["alpha"]), "peer alpha only", Join);
        await c.WaitForPeersAsync(p => p.SequenceEqual(["alpha"]), "peer alpha only", Join);

        using var echoA = a.Listen(Echo);
        using var sshA = a.Listen(GammaToAlpha);
        using var echoB = b.Listen(Echo);
        using var echoC = c.Listen(Echo);

        lab.Log($"alpha → beta: first ping after {(await a.WaitForPingAsync(ipB, FirstPacket)).TotalMilliseconds:F0} ms");
        lab.Log($"alpha → beta: TCP echo after {(await a.WaitForTcpAsync(ipB, Echo, FirstPacket)).TotalMilliseconds:F0} ms");
        lab.Log($"gamma → alpha:{GammaToAlpha}: TCP echo after {(await c.WaitForTcpAsync(ipA, GammaToAlpha, FirstPacket)).TotalMilliseconds:F0} ms");

        // The tunnels alpha↔beta and alpha↔gamma are up now, so what fails below fails on the policy, not on a handshake.
        var denied = new (string What, Func<Task<bool>> Probe)[]
        {
            ("alpha → gamma ping", () => Task.FromResult(a.Ping(ipC, count: 3))),
            ("alpha → gamma TCP", async () => (await a.TcpProbeAsync(ipC, Echo, DeniedWait)).Succeeded),
            ("gamma → alpha ping", () => Task.FromResult(c.Ping(ipA, count: 3))),
            ("gamma → alpha TCP 8080", async () => (await c.TcpProbeAsync(ipA, Echo, DeniedWait)).Succeeded),
            ("beta → alpha ping", () => Task.FromResult(b.Ping(ipA, count: 3))),
            ("beta → alpha TCP", async () => (await b.TcpProbeAsync(ipA, Echo, DeniedWait)).Succeeded),
            ("beta → gamma ping", () => Task.FromResult(b.Ping(ipC, count: 3))),
        };
        var leaks = new List<string>();
        foreach (var (what, probe) in denied)
        {
            var passed = await probe();
            lab.Log($"{what}: {(passed ? "PASSED (should be denied)" : "denied")}");
            if (passed)
            {
                leaks.Add(what);
            }
        }

        Assert.True(leaks.Count == 0, $"the policy let through: {string.Join(", ", leaks)}\n{lab.Logs()}");
        Assert.Equal(0, echoC.Connections);
        Assert.Equal(0, echoA.Connections);
        Assert.True((await a.TcpProbeAsync(ipB, Echo, FirstPacket)).Succeeded, "alpha → beta stopped working after the denied probes");
    }

    [TailnetFact]
    public async Task ControlKilled_WhileTrafficFlows_TunnelKeepsCarryingPingAndTcp()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var (ipA, ipB) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join));
        using var echoB = b.Listen(Echo);
        lab.Log($"alpha → beta: first ping after {(await a.WaitForPingAsync(ipB, FirstPacket)).TotalMilliseconds:F0} ms");
        await a.WaitForTcpAsync(ipB, Echo, FirstPacket);
        var (open, opened) = await a.TcpConnectAsync(ipB, Echo, FirstPacket);
        Assert.True(open is not null, $"TCP alpha → beta: {opened}");
        using var connection = open;

        // 60 pings over 6 s; control dies after the first second of them.
        using var pinging = LabProcess.Start("ping alpha → beta", a.Namespace, "ping", ["-c", "60", "-i", "0.1", "-W", "1", "-n", ipB.ToString()]);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var killedAt = Stopwatch.StartNew();
        lab.KillControl();
        lab.Log("control killed with SIGKILL");
        Assert.True(pinging.WaitForExit(TimeSpan.FromSeconds(30)), "ping did not finish");
        var summary = pinging.Log.Split('\n').FirstOrDefault(l => l.Contains("packets transmitted", StringComparison.Ordinal))?.Trim();
        lab.Log($"ping across the kill: {summary}");
        Assert.True(pinging.ExitCode == 0, $"no replies while control died: {pinging.Log}");

        // Both agents have noticed control is gone before the tunnel is judged.
        foreach (var node in new[] { a, b })
        {
            await node.Daemon!.WaitForOutputAsync("Control unreachable", TimeSpan.FromSeconds(30));
        }

        lab.Log($"both agents saw control gone after {killedAt.Elapsed.TotalSeconds:F1} s");
        var echo = await connection!.EchoAsync(TimeSpan.FromSeconds(5));
        Assert.True(echo.Succeeded, $"the TCP connection opened before the kill: {echo}\n{lab.Logs()}");
        Assert.True(a.Ping(ipB, count: 5), $"alpha → beta ping with control down\n{lab.Logs()}");
        Assert.True(b.Ping(ipA, count: 5), $"beta → alpha ping with control down\n{lab.Logs()}");
        var fresh = await a.TcpProbeAsync(ipB, Echo, TimeSpan.FromSeconds(5));
        Assert.True(fresh.Succeeded, $"new TCP connection with control down: {fresh}\n{lab.Logs()}");
        lab.Log($"with control down for {killedAt.Elapsed.TotalSeconds:F1} s: old connection {echo}, new connection {fresh}");
    }

    [TailnetFact]
    public async Task NodeDeleted_ByAdmin_LosesAccessWithinFiveSeconds()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);

        // A one-off key: meshwired keeps its auth key, and a reusable one would let it register again at once.
        var a = lab.AddNodeWithKey("alpha", await lab.CreateAuthKeyAsync(reusable: false));
        var b = await lab.AddNodeAsync("beta");
        var c = await lab.AddNodeAsync("gamma");
        var (ipA, ipB, ipC) = (await a.WaitForAddressAsync(Join), await b.WaitForAddressAsync(Join), await c.WaitForAddressAsync(Join));
        using var echoB = b.Listen(Echo);
        await a.WaitForPingAsync(ipB, FirstPacket);
        await a.WaitForPingAsync(ipC, FirstPacket);
        await b.WaitForPingAsync(ipC, FirstPacket);
        var (open, opened) = await a.TcpConnectAsync(ipB, Echo, FirstPacket);
        Assert.True(open is not null, $"TCP alpha → beta: {opened}");
        using var connection = open;

        // Through the REST API: the measurement starts when the request leaves.
        var clock = Stopwatch.StartNew();
        await lab.DeleteNodeAsync("alpha");
        var acknowledged = clock.Elapsed;
        TimeSpan? mapsDropped = null, pingLost = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(15) && (mapsDropped is null || pingLost is null))
        {
            if (mapsDropped is null && !b.PeerNames().Contains("alpha") && !c.PeerNames().Contains("alpha"))
            {
                mapsDropped = clock.Elapsed;
            }

            if (pingLost is null && !a.Ping(ipB, count: 1, waitSeconds: 0.5))
            {
                pingLost = clock.Elapsed;
            }

            await Task.Delay(20);
        }

        lab.Log($"delete acknowledged after {acknowledged.TotalMilliseconds:F0} ms; beta and gamma dropped alpha after {mapsDropped?.TotalMilliseconds:F0} ms; " +
                $"alpha's first unanswered ping to beta started before {pingLost?.TotalMilliseconds:F0} ms");
        Assert.True(mapsDropped <= TimeSpan.FromSeconds(5), $"beta/gamma still list alpha after {clock.Elapsed}: {string.Join(",", b.PeerNames())} / {string.Join(",", c.PeerNames())}\n{lab.Logs()}");
        Assert.True(pingLost <= TimeSpan.FromSeconds(5), $"alpha kept reaching beta for {clock.Elapsed}\n{lab.Logs()}");

        // Lost for good, on every path; the others keep talking.
        Assert.False(a.Ping(ipB, count: 3), "alpha → beta ping came back");
        Assert.False(a.Ping(ipC, count: 3), "alpha → gamma ping after the delete");
        Assert.False((await connection!.EchoAsync(DeniedWait)).Succeeded, "alpha's open TCP connection to beta still carries data");
        Assert.False((await a.TcpProbeAsync(ipB, Echo, DeniedWait)).Succeeded, "alpha opened a new TCP connection to beta");
        Assert.False(b.Ping(ipA, count: 3), "beta → alpha ping after the delete");
        Assert.True(b.Ping(ipC, count: 3), $"beta → gamma broke\n{lab.Logs()}");
        Assert.DoesNotContain("alpha", (await lab.NodesOnlineAsync()).Keys);
    }

    [TailnetFact]
    public async Task ControlRestarted_AfterKill_NodesReconnectByThemselves()
    {
        await using var lab = await TailnetLab.StartAsync(output);
        await lab.SetPolicyAsync(OpenPolicy);
        var a = await lab.AddNodeAsync("alpha");
        var b = await lab.AddNodeAsync("beta");
        var ipB = await b.WaitForAddressAsync(Join);
        await a.WaitForAddressAsync(Join);
        await a.WaitForPingAsync(ipB, FirstPacket);

        lab.KillControl();
        foreach (var node in new[] { a, b })
        {
            await node.Daemon!.WaitForOutputAsync("Control unreachable", TimeSpan.FromSeconds(30));
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
        var clock = Stopwatch.StartNew();
        await lab.StartControlAsync();
        var serving = clock.Elapsed;
        var online = await WaitForAsync(async () => await lab.NodesOnlineAsync() is var n && n.GetValueOrDefault("alpha") && n.GetValueOrDefault("beta"), TimeSpan.FromSeconds(60));
        Assert.True(online is not null, $"alpha and beta did not come back online\n{lab.Logs()}");
        lab.Log($"control serving {serving.TotalSeconds:F1} s after restart; both nodes online again after {online!.Value.TotalSeconds:F1} s");

        // The streams are live: a node joining now reaches both maps, and traffic flows to it.
        var joinClock = Stopwatch.StartNew();
        var c = await lab.AddNodeAsync("gamma");
        var ipC = await c.WaitForAddressAsync(Join);
        await a.WaitForPeersAsync(p => p.Contains("gamma"), "gamma in alpha's map", Join);
        await b.WaitForPeersAsync(p => p.Contains("gamma"), "gamma in beta's map", Join);
        lab.Log($"gamma joined and reached both maps in {joinClock.Elapsed.TotalSeconds:F1} s");
        await a.WaitForPingAsync(ipC, FirstPacket);
        Assert.True(a.Ping(ipB, count: 3), $"alpha → beta after the restart\n{lab.Logs()}");
    }

    private static async Task<TimeSpan?> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition())
            {
                return clock.Elapsed;
            }

            await Task.Delay(250);
        }

        return null;
    }
}
