using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Meshwire.IntegrationTests.Lab;
using Xunit.Abstractions;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// A whole tailnet on one machine, every piece a real program:
/// <code>
///   server namespace  mwt-PID-N-srv: bridge br0 = 10.77.0.1/24
///                      meshwire-control serve (http://10.77.0.1:8080, SQLite in a temp dir)
///                      meshwire-relay (10.77.0.1:8443, STUN udp 3478), registered in the relay map
///   node namespaces   mwt-PID-N-NAME: eth0 = 10.77.0.(10+i)/24, a veth whose other end is a br0 port;
///                      meshwired --state TEMP --tun mwtI [--socket TEMP/meshwired.sock]
/// </code>
/// Every address lives in a namespace the lab created; nothing is configured in the test's own namespace.
/// Namespace names carry the test process id and a counter, so labs of parallel runs never meet; leftovers of
/// crashed runs (their process gone) are removed at the next start. Dispose stops every process it started (by
/// PID), deletes its namespaces (which takes the veths and the bridge with them) and its temp directories.
/// </summary>
internal sealed partial class TailnetLab : IAsyncDisposable
{
    public const string Subnet = "10.77.0";
    public const string ServerAddress = Subnet + ".1";
    public const int ControlPort = 8080;
    public const int RelayPort = 8443;
    public const int StunPort = 3478;

    /// <summary>The user owning every tag and node of the lab.</summary>
    public const string User = "lab@example.com";

    private const string Prefix = "mwt-";

    private static int s_counter;

    private readonly ITestOutputHelper? _output;
    private readonly List<TailnetNode> _nodes = [];
    private readonly List<string> _tempDirectories = [];
    private int _nextHost = 10;

    private TailnetLab(ITestOutputHelper? output)
    {
        _output = output;
        Tag = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        ControlState = TempDirectory("meshwire-lab-control");
        RelayState = TempDirectory("meshwire-lab-relay");
    }

    /// <summary>The namespace prefix of this lab ("mwt-PID-N").</summary>
    public string Tag { get; }

    public NetNamespace Server { get; private set; } = null!;

    public Uri ControlUrl { get; } = new($"http://{ServerAddress}:{ControlPort}");

    public Uri RelayUrl { get; } = new($"http://{ServerAddress}:{RelayPort}");

    /// <summary>meshwire-control's --state directory (control.db, machine.key, control.sock).</summary>
    public string ControlState { get; }

    public string RelayState { get; }

    public LabProcess? Control { get; private set; }

    public LabProcess? Relay { get; private set; }

    public IReadOnlyList<TailnetNode> Nodes => _nodes;

    /// <summary>LOG_LEVEL for meshwired processes started from now on ("debug" shows the path layer's decisions); null leaves the default.</summary>
    public string? DaemonLogLevel { get; set; }

    /// <summary>Whether this meshwired build takes --socket PATH (the LocalAPI); the lab passes it when it does.</summary>
    public static bool DaemonTakesSocket { get; } = Shell.Run(TimeSpan.FromSeconds(30), null, Program("meshwired"), "--help").Output.Contains("--socket", StringComparison.Ordinal);

    /// <summary>
    /// A lab program: from the folder $MESHWIRE_PROGRAMS names when set (`./run test` sets it to out/, so the labs run
    /// what users install: meshwired and meshwire as NativeAOT binaries), else the builds beside the tests.
    /// </summary>
    public static string Program(string name)
    {
        var folder = Environment.GetEnvironmentVariable("MESHWIRE_PROGRAMS") is { Length: > 0 } published ? published : AppContext.BaseDirectory;
        var path = Path.Combine(folder, name);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: build the integration tests (or ./run build for $MESHWIRE_PROGRAMS)");
    }

    /// <summary>Creates the server namespace and bridge, starts control and the relay, creates the lab user and registers the relay.</summary>
    public static async Task<TailnetLab> StartAsync(ITestOutputHelper? output = null)
    {
        RemoveLeftovers();
        var lab = new TailnetLab(output);
        try
        {
            var clock = Stopwatch.StartNew();
            lab.Server = new NetNamespace($"{lab.Tag}-srv");
            lab.Server.Exec("ip", "link", "add", "br0", "type", "bridge").EnsureSuccess("bridge");
            lab.Server.Exec("ip", "addr", "add", $"{ServerAddress}/24", "dev", "br0").EnsureSuccess("bridge address");
            lab.Server.Exec("ip", "link", "set", "br0", "up").EnsureSuccess("bridge up");
            lab.Bootstrap();
            await lab.StartControlAsync();
            lab.StartRelay();
            await lab.Relay!.WaitForOutputAsync("listening on", TimeSpan.FromSeconds(30));
            await lab.RegisterRelayAsync();
            lab.Log($"lab {lab.Tag}: control and relay up in {clock.Elapsed.TotalSeconds:F1} s");
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts meshwire-control on the same state (after <see cref="KillControl"/> too); returns once it serves.</summary>
    public async Task StartControlAsync()
    {
        if (Control is { HasExited: false })
        {
            throw new InvalidOperationException("control is already running");
        }

        Control?.Dispose();
        Control = LabProcess.Start("meshwire-control", Server, Program("meshwire-control"),
            ["--state", ControlState, "serve", "--listen", ControlUrl.ToString().TrimEnd('/'), "--server-url", ControlUrl.ToString().TrimEnd('/')]);
        await Control.WaitForOutputAsync("serving on", TimeSpan.FromSeconds(60));
    }

    /// <summary>kill -9 of the coordination server: no goodbye to the nodes, the database as the crash left it.</summary>
    public void KillControl() => Control?.Kill9();

    /// <summary>Adds a node: a namespace on the bridge, a reusable auth key for <paramref name="tags"/>, and meshwired.</summary>
    public async Task<TailnetNode> AddNodeAsync(string name, params string[] tags) => AddNodeWithKey(name, await CreateAuthKeyAsync(reusable: true, tags));

    /// <summary>Adds a node that joins with <paramref name="authKey"/>.</summary>
    /// <param name="beforeStart">Runs once the namespace is wired, before meshwired starts (firewall rules a test needs from the first packet).</param>
    public TailnetNode AddNodeWithKey(string name, string authKey, Action<TailnetNode>? beforeStart = null)
    {
        var host = _nextHost++;
        var ns = new NetNamespace($"{Tag}-{name}");
        TailnetNode? node = null;
        try
        {
            var underlay = $"{Subnet}.{host}";
            AttachToBridge(ns, host, underlay);
            node = new TailnetNode(this, name, ns, underlay, $"mwt{host}", TempDirectory($"meshwire-lab-{name}"), authKey);
            _nodes.Add(node);
            beforeStart?.Invoke(node);
            node.Start();
        }
        catch
        {
            if (node is null)
            {
                ns.Dispose();
            }

            throw;
        }

        return node;
    }

    /// <summary>Gives <paramref name="ns"/> an eth0 on the bridge with <paramref name="underlay"/>/24 (port p<paramref name="host"/> on br0).</summary>
    private void AttachToBridge(NetNamespace ns, int host, string underlay)
    {
        var port = $"p{host}";
        Shell.Run("ip", "link", "add", "eth0", "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", Server.Name).EnsureSuccess("veth");
        Server.Exec("ip", "link", "set", port, "master", "br0").EnsureSuccess("bridge port");
        Server.Exec("ip", "link", "set", port, "up").EnsureSuccess("bridge port up");
        ns.Exec("ip", "addr", "add", $"{underlay}/24", "dev", "eth0").EnsureSuccess("node address");
        ns.Exec("ip", "link", "set", "eth0", "up").EnsureSuccess("node link up");
    }

    /// <summary>Takes a node out of the lab here (kills meshwired, deletes its namespace); control still knows it.</summary>
    public void RemoveNode(TailnetNode node)
    {
        _nodes.Remove(node);
        node.Dispose();
    }

    /// <summary>Every process's log, for failure messages.</summary>
    public string Logs()
    {
        var text = new StringBuilder();
        foreach (var p in new[] { Control, Relay })
        {
            if (p is not null)
            {
                text.AppendLine(p.ToString());
            }
        }

        foreach (var node in _nodes)
        {
            text.AppendLine(node.ToString());
        }

        return text.ToString();
    }

    /// <summary>A line in the test output (timings, steps).</summary>
    public void Log(string line) => _output?.WriteLine($"[{DateTime.Now:HH:mm:ss.fff}] {line}");

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        _nodes.Clear();
        SecondStun?.Dispose();
        Relay?.Dispose();
        Control?.Dispose();
        _http?.Dispose();
        Server?.Dispose();
        foreach (var dir in _tempDirectories)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory left behind harms nothing.
            }
        }

        await Task.CompletedTask;
    }

    private void StartRelay()
    {
        Relay = LabProcess.Start("meshwire-relay", Server, Program("meshwire-relay"),
            ["--listen", $"{ServerAddress}:{RelayPort}", "--stun-port", StunPort.ToString(CultureInfo.InvariantCulture),
             "--state-dir", RelayState, "--verify-clients", ControlUrl.ToString().TrimEnd('/')]);
    }

    private string TempDirectory(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        _tempDirectories.Add(dir);
        return dir;
    }

    /// <summary>Deletes namespaces of earlier lab runs whose test process is gone (a crash skipped Dispose).</summary>
    private static void RemoveLeftovers()
    {
        var list = Shell.Run(TimeSpan.FromSeconds(10), null, "ip", "netns", "list");
        foreach (var line in list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var match = LeftoverName().Match(line);
            if (match.Success && int.TryParse(match.Groups[2].Value, CultureInfo.InvariantCulture, out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                Shell.Run("ip", "netns", "del", match.Groups[1].Value);
            }
        }
    }

    [GeneratedRegex(@"^(mwt-(\d+)-\d+-[a-z0-9-]+)")]
    private static partial Regex LeftoverName();
}
