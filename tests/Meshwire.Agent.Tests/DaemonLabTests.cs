using System.Diagnostics;
using System.Text;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.Agent.Tests;

/// <summary>
/// The real meshwired processes in two namespaces. Topology (all created and removed by the test):
///   hub namespace: bridge br0 joining alpha (10.206.N.2), beta (10.206.N.3) and a veth into this process's
///   namespace (10.206.N.1) where the control server listens. Nodes reach each other over the bridge, at L2.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DaemonLabTests
{
    [RootFact]
    public async Task Meshwired_TwoNodes_PingThenSurviveRestartWithControlDown()
    {
        var id = (Environment.ProcessId % 200) + 20;
        var tag = $"{Environment.ProcessId}-{id}";
        using var hub = new NetNamespace($"mwdl-{tag}-hub");
        using var a = new NetNamespace($"mwdl-{tag}-a");
        using var b = new NetNamespace($"mwdl-{tag}-b");
        var rootVeth = $"mwdlc{id}";
        try
        {
            hub.Exec("ip", "link", "add", "br0", "type", "bridge").EnsureSuccess("bridge");
            hub.Exec("ip", "link", "set", "br0", "up").EnsureSuccess("bridge up");
            Shell.Run("ip", "link", "add", rootVeth, "type", "veth", "peer", "name", "c", "netns", hub.Name).EnsureSuccess("veth control");
            Shell.Run("ip", "addr", "add", $"10.206.{id}.1/24", "dev", rootVeth).EnsureSuccess("control address");
            Shell.Run("ip", "link", "set", rootVeth, "up").EnsureSuccess("control up");
            foreach (var (ns, port, host) in new[] { (a, "pa", 2), (b, "pb", 3) })
            {
                Shell.Run("ip", "link", "add", "eth0", "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", hub.Name).EnsureSuccess("veth node");
                ns.Exec("ip", "addr", "add", $"10.206.{id}.{host}/24", "dev", "eth0").EnsureSuccess("node address");
                ns.Exec("ip", "link", "set", "eth0", "up").EnsureSuccess("node up");
            }

            foreach (var port in new[] { "c", "pa", "pb" })
            {
                hub.Exec("ip", "link", "set", port, "master", "br0").EnsureSuccess("enslave");
                hub.Exec("ip", "link", "set", port, "up").EnsureSuccess("port up");
            }

            await using var control = await ControlHost.StartAsync($"10.206.{id}.1");
            var key = await control.AuthKeyAsync();
            var stateA = Directory.CreateTempSubdirectory("meshwired-lab").FullName;
            var stateB = Directory.CreateTempSubdirectory("meshwired-lab").FullName;
            using var alpha = Daemon.Start(a, stateA, control.Url, key, "alpha");
            using var beta = Daemon.Start(b, stateB, control.Url, key, "beta");
            try
            {
                var addressB = await TailnetAddressAsync(stateB, beta);
                await PingAsync(a, addressB, alpha, beta);

                // Stop alpha cleanly, take control away, start alpha again: the cached map alone brings the tunnel back.
                Assert.True(alpha.Terminate(), $"meshwired did not stop on SIGTERM: {alpha.Log}");
                Assert.Equal(0, alpha.ExitCode);
                await control.StopAsync();
                using var again = Daemon.Start(a, stateA, control.Url, null, "alpha");
                await PingAsync(a, addressB, again, beta);
                Assert.True(again.Terminate(), again.Log);
            }
            finally
            {
                beta.Terminate();
                Directory.Delete(stateA, recursive: true);
                Directory.Delete(stateB, recursive: true);
            }
        }
        finally
        {
            Shell.Run("ip", "link", "del", rootVeth);
        }
    }

    private static async Task<string> TailnetAddressAsync(string state, Daemon node)
    {
        var path = Path.Combine(state, "netmap.json");
        await Eventually.TrueAsync(() => File.Exists(path), $"beta's first map ({node.Log})", 20000);
        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(path));
        var addresses = json.RootElement.GetProperty("self").GetProperty("addresses");
        return addresses.EnumerateArray().Select(x => x.GetString()!).First(x => x.StartsWith("100.", StringComparison.Ordinal)).Split('/')[0];
    }

    private static async Task PingAsync(NetNamespace from, string address, Daemon one, Daemon other)
    {
        // The peer appears once both maps carry endpoints; retry for a while rather than sleeping a fixed time.
        Shell.Result? last = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            last = from.Exec(TimeSpan.FromSeconds(10), "ping", "-c", "3", "-i", "0.2", "-W", "1", address);
            if (last.ExitCode == 0)
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"no ping reply from {address}: {last?.Output}\n--- {one.Log}\n--- {other.Log}");
    }
}

/// <summary>One meshwired process inside a namespace; its log is kept for failure messages; stopped by its PID.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal sealed class Daemon : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private Daemon(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>The lab's daemon: joins <paramref name="server"/>; the auth key goes in a 0600 file, never on the command line.</summary>
    public static Daemon Start(NetNamespace ns, string state, Uri server, string? authKey, string hostname)
    {
        List<string> args = ["--state", state, "--login-server", server.ToString(), "--hostname", hostname, "--tun", "mw0",
            "--socket", Path.Combine(state, "meshwired.sock")];
        if (authKey is not null)
        {
            var file = Path.Combine(state, "authkey");
            File.WriteAllText(file, authKey + "\n");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            args.AddRange(["--authkey-file", file]);
        }

        return Run(ns, args);
    }

    /// <summary>meshwired with <paramref name="args"/> inside <paramref name="ns"/>, with extra <paramref name="environment"/> variables.</summary>
    public static Daemon Run(NetNamespace ns, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("ip", ["netns", "exec", ns.Name, Path.Combine(AppContext.BaseDirectory, "meshwired"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new Daemon(Process.Start(start) ?? throw new InvalidOperationException("cannot start meshwired"));
    }

    /// <summary>The daemon's PID (ip netns exec execs it, so it is the started process).</summary>
    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>SIGTERM (ip netns exec execs the daemon, so the PID is the daemon's); true when it exited within 10 s.</summary>
    public bool Terminate()
    {
        if (_process.HasExited)
        {
            return true;
        }

        Shell.Run("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _process.WaitForExit();
            return true;
        }

        _process.Kill();
        _process.WaitForExit();
        return false;
    }

    public void Dispose()
    {
        Terminate();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
