using System.Diagnostics;
using System.Globalization;
using Meshwire.Control.Api;
using Meshwire.Control.Client;
using Meshwire.Control.Hosting;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Benchmarks.Control;

/// <summary>
/// One join, N listening streams: how long until every map stream has the new node.
/// Flow: start the coordination server in this process (SQLite in a temp state directory, 127.0.0.1:0) → a child
/// process (<see cref="FanoutClients"/>) registers N nodes and holds N real map streams (WebSocket + Noise) →
/// this process registers one more node ("joiner") → the child reports when the last stream received the delta.
/// Reported: join-to-last-delivery time (and first/median/p99), the server's CPU seconds over the join, its RSS.
/// Run: dotnet run -c Release --project bench/Meshwire.Benchmarks -- control-fanout [--nodes 1000,5000,10000] [--policy hub|all]
///   hub: the policy lets every node reach tag:hub only, so nodes do not see each other (small full maps: setup is
///        O(N)) but all N see the joiner, which is tagged tag:hub; all: the default allow-all policy (every full
///        map holds N peers: setup is O(N²) bytes, so keep N at a few thousand).
/// </summary>
internal static class StreamFanout
{
    private const string Joiner = "joiner";

    private const string HubPolicy = """{"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:hub:*"]}], "tagOwners": {"tag:hub": ["bench@example.com"]}}""";

    public static async Task<int> RunAsync(string[] args)
    {
        var nodes = Option(args, "--nodes", "1000,5000,10000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
        var policy = Option(args, "--policy", "hub");
        Console.WriteLine($"| streams | policy | setup (s) | join → first / median / p99 / last delivery (ms) | server CPU over join (s) | server RSS before / after join (MB) | server peak RSS (MB) |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var n in nodes)
        {
            await RunOneAsync(n, policy);
        }

        return 0;
    }

    private static async Task RunOneAsync(int n, string policy)
    {
        var state = Directory.CreateTempSubdirectory("meshwire-bench-control").FullName;
        try
        {
            var options = new ControlOptions
            {
                StateDirectory = state,
                AdminSocket = false,
                // Online flags would make the N stream openings of the setup O(N²) records; they are not what is measured.
                PublishOnline = false,
                KeepAliveInterval = TimeSpan.FromMinutes(5),

                // Every client of the benchmark connects and registers from 127.0.0.1 at once.
                HandshakeRatePerSource = RateLimit.Unlimited,
                RegistrationRatePerSource = RateLimit.Unlimited,
                RegistrationRatePerAuthKey = RateLimit.Unlimited,
            };
            options.Urls.Add("http://127.0.0.1:0");
            await using var server = await ControlServer.StartAsync(options);
            var service = server.Service;
            await service.CreateUserAsync("bench@example.com");
            if (policy == "hub")
            {
                await service.SetPolicyAsync(HubPolicy);
            }

            var nodesKey = (await service.CreateAuthKeyAsync(new CreateAuthKeyRequest("bench@example.com", Reusable: true))).Key!;
            var joinerKey = (await service.CreateAuthKeyAsync(new CreateAuthKeyRequest("bench@example.com", Tags: policy == "hub" ? ["tag:hub"] : null))).Key!;

            var setup = Stopwatch.StartNew();
            using var child = StartClients(server.BaseAddress, server.ServerKey.Key.ToString(), nodesKey, n);
            await ExpectLineAsync(child, "ready", TimeSpan.FromSeconds(160));
            var setupSeconds = setup.Elapsed.TotalSeconds;

            var self = Process.GetCurrentProcess();
            GC.Collect();
            self.Refresh();
            var rssBefore = self.WorkingSet64;
            var machine = ControlClient.GenerateMachineKey();
            await using var joiner = await ControlClient.ConnectAsync(server.BaseAddress, machine, server.ServerKey.Key);
            var nodePrivate = X25519Keys.GeneratePrivateKey();
            var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
            var cpuBefore = self.TotalProcessorTime;
            var t0 = Stopwatch.GetTimestamp();
            await joiner.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = Joiner, AuthKey = joinerKey }, nodePrivate);
            var done = await ExpectLineAsync(child, "done", TimeSpan.FromSeconds(60));
            self.Refresh();
            var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
            var rssAfter = self.WorkingSet64;
            var ms = done.Split(' ').Skip(1).Select(s => Stopwatch.GetElapsedTime(t0, long.Parse(s, CultureInfo.InvariantCulture)).TotalMilliseconds).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {n} | {policy} | {setupSeconds:F1} | {ms[0]:F0} / {ms[1]:F0} / {ms[2]:F0} / **{ms[3]:F0}** | {cpu:F2} | {rssBefore / 1e6:F0} / {rssAfter / 1e6:F0} | {PeakRssBytes() / 1e6:F0} |"));
            child.StandardInput.Close();
            if (!child.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                child.Kill();
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static Process StartClients(Uri url, string serverKey, string authKey, int n)
    {
        var host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(StreamFanout).Assembly.Location);
        }

        foreach (var a in new[] { "control-fanout-clients", url.ToString(), serverKey, authKey, n.ToString(CultureInfo.InvariantCulture), Joiner })
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    private static async Task<string> ExpectLineAsync(Process child, string word, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (await child.StandardOutput.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith(word, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException($"the client process ended before \"{word}\" (exit {(child.HasExited ? child.ExitCode : -1)})");
    }

    /// <summary>VmHWM from /proc/self/status: the highest RSS this process reached.</summary>
    private static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    private static string Option(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
