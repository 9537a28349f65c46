using System.Diagnostics;
using System.Net;

namespace Meshwire.IntegrationTests.Lab;

/// <summary>Which userspace WireGuard runs on a side of the lab.</summary>
public enum Implementation
{
    MeshwireWg,
    WireGuardGo,
}

/// <summary>
/// Two namespaces joined by a veth pair (underlay 10.201.N.1/.2), each running a userspace WireGuard interface
/// (tunnel 10.202.N.1/.2 and fd00:202:N::1/2), configured with the stock `wg` tool and peered with each other.
/// Every address lives inside namespaces this lab created. Dispose kills the daemons by PID and deletes everything.
/// </summary>
internal sealed class WireGuardLab : IDisposable
{
    private static int s_counter;

    private readonly List<Process> _daemons = [];

    private WireGuardLab(int id, NetNamespace a, NetNamespace b)
    {
        Id = id;
        A = new Side(a, $"mwa{id}", $"10.201.{id}.1", $"10.202.{id}.1", $"fd00:202:{id}::1");
        B = new Side(b, $"mwb{id}", $"10.201.{id}.2", $"10.202.{id}.2", $"fd00:202:{id}::2");
    }

    public int Id { get; }

    public Side A { get; }

    public Side B { get; }

    public sealed record Side(NetNamespace Namespace, string Interface, string Underlay, string Tunnel, string Tunnel6)
    {
        public Implementation Implementation { get; set; }

        public string PrivateKey { get; set; } = "";

        public string PublicKey { get; set; } = "";

        public int Pid { get; set; }

        public Shell.Result Exec(string file, params string[] args) => Namespace.Exec(file, args);

        public Shell.Result Wg(params string[] args) => Namespace.Exec("wg", args);
    }

    public static WireGuardLab Create(Implementation a, Implementation b, int listenPortA = 51820, int listenPortB = 51821)
    {
        // Ids keep interface names (their UAPI sockets share /var/run/wireguard) and subnets apart across tests.
        var id = (Environment.ProcessId % 50 * 4) + (Interlocked.Increment(ref s_counter) % 4) + 10;
        var tag = $"{Environment.ProcessId}-{id}";
        var lab = new WireGuardLab(id, new NetNamespace($"mw-{tag}-a"), new NetNamespace($"mw-{tag}-b"));
        try
        {
            lab.Build(a, b, listenPortA, listenPortB);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private void Build(Implementation a, Implementation b, int portA, int portB)
    {
        var vethA = $"mwva{Id}";
        var vethB = $"mwvb{Id}";
        Shell.Run("ip", "link", "add", vethA, "netns", A.Namespace.Name, "type", "veth", "peer", "name", vethB, "netns", B.Namespace.Name)
            .EnsureSuccess("veth");
        foreach (var (side, veth) in new[] { (A, vethA), (B, vethB) })
        {
            side.Exec("ip", "addr", "add", $"{side.Underlay}/24", "dev", veth).EnsureSuccess("underlay address");
            side.Exec("ip", "link", "set", veth, "up").EnsureSuccess("underlay up");
        }

        A.Implementation = a;
        B.Implementation = b;
        StartDaemon(A);
        StartDaemon(B);
        foreach (var side in new[] { A, B })
        {
            side.PrivateKey = Shell.Run("wg", "genkey").EnsureSuccess("wg genkey").Output.Trim();
            side.PublicKey = Shell.Run(TimeSpan.FromSeconds(10), side.PrivateKey, "wg", "pubkey").EnsureSuccess("wg pubkey").Output.Trim();
        }

        Configure(A, B, portA, portB);
        Configure(B, A, portB, portA);
    }

    private void StartDaemon(Side side)
    {
        var file = side.Implementation == Implementation.MeshwireWg ? Shell.Executable("meshwire-wg") : "wireguard-go";
        var start = new ProcessStartInfo("ip", ["netns", "exec", side.Namespace.Name, file, "-f", side.Interface])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD"] = "1";
        start.Environment["LOG_LEVEL"] = "error";
        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the daemon");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _daemons.Add(process);
        side.Pid = process.Id;

        var socket = $"/var/run/wireguard/{side.Interface}.sock";
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(socket))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new InvalidOperationException($"{side.Implementation} did not create {socket} (exited: {process.HasExited})");
            }

            Thread.Sleep(50);
        }
    }

    private static void Configure(Side self, Side peer, int port, int peerPort)
    {
        var keyFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(keyFile, self.PrivateKey);
            self.Wg("set", self.Interface, "listen-port", port.ToString(), "private-key", keyFile,
                    "peer", peer.PublicKey, "endpoint", $"{peer.Underlay}:{peerPort}",
                    "allowed-ips", $"{peer.Tunnel}/32,{peer.Tunnel6}/128")
                .EnsureSuccess($"wg set {self.Interface}");
        }
        finally
        {
            File.Delete(keyFile);
        }

        self.Exec("ip", "addr", "add", $"{self.Tunnel}/24", "dev", self.Interface).EnsureSuccess("tunnel address");
        self.Exec("ip", "-6", "addr", "add", $"{self.Tunnel6}/64", "dev", self.Interface, "nodad").EnsureSuccess("tunnel v6 address");
        self.Exec("ip", "link", "set", self.Interface, "up").EnsureSuccess("tunnel up");
    }

    public IPAddress TunnelAddress(Side side) => IPAddress.Parse(side.Tunnel);

    public void Dispose()
    {
        foreach (var daemon in _daemons)
        {
            try
            {
                if (!daemon.HasExited)
                {
                    daemon.Kill(entireProcessTree: true);
                    daemon.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            daemon.Dispose();
        }

        A.Namespace.Dispose();
        B.Namespace.Dispose();
        foreach (var side in new[] { A, B })
        {
            File.Delete($"/var/run/wireguard/{side.Interface}.sock");
        }
    }
}
