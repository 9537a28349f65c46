using System.Diagnostics;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests;

/// <summary>
/// wg-quick drives meshwire-wg through WG_QUICK_USERSPACE_IMPLEMENTATION: it starts it without -f (so meshwire-wg
/// must detach and return once its socket is ready), configures it with `wg setconf`, and `wg-quick down` deletes the
/// interface, which must stop the daemon. The peer is Debian's wireguard-go.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class WgQuickTests
{
    [Fact]
    public void WgQuick_UpAndDown_DrivesMeshwireWg()
    {
        using var lab = WireGuardLab.Create(Implementation.WireGuardGo, Implementation.WireGuardGo);
        var a = lab.A;
        var b = lab.B;

        // Replace side A's wireguard-go with a wg-quick-managed meshwire-wg on a fresh interface name.
        var name = $"mwq{lab.Id}";
        var configDir = Directory.CreateTempSubdirectory("meshwire-wgquick-");
        var config = Path.Combine(configDir.FullName, $"{name}.conf");
        File.WriteAllText(config, $"""
            [Interface]
            PrivateKey = {a.PrivateKey}
            ListenPort = 51830
            Address = 10.205.{lab.Id}.1/24

            [Peer]
            PublicKey = {b.PublicKey}
            Endpoint = {b.Underlay}:51821
            AllowedIPs = 10.205.{lab.Id}.2/32
            PersistentKeepalive = 25
            """);
        b.Wg("set", b.Interface, "peer", a.PublicKey, "endpoint", $"{a.Underlay}:51830", "allowed-ips", $"10.205.{lab.Id}.1/32")
            .EnsureSuccess("wg set on the peer");
        b.Exec("ip", "addr", "add", $"10.205.{lab.Id}.2/24", "dev", b.Interface).EnsureSuccess("peer address");

        try
        {
            var up = Shell.Run(TimeSpan.FromSeconds(60), null, "ip", "netns", "exec", a.Namespace.Name, "env",
                $"WG_QUICK_USERSPACE_IMPLEMENTATION={Shell.Executable("meshwire-wg")}",
                "wg-quick", "up", config);
            Assert.True(up.ExitCode == 0, $"wg-quick up failed: {up.Error}{up.Output}");
            var daemon = FindDaemon(name);
            Assert.NotNull(daemon);

            var ping = a.Exec("ping", "-c", "3", "-i", "0.2", "-W", "5", $"10.205.{lab.Id}.2");
            Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
            var show = a.Wg("show", name, "latest-handshakes").EnsureSuccess("wg show").Output;
            Assert.Contains(b.PublicKey, show);

            var down = Shell.Run(TimeSpan.FromSeconds(60), null, "ip", "netns", "exec", a.Namespace.Name, "wg-quick", "down", config);
            Assert.True(down.ExitCode == 0, $"wg-quick down failed: {down.Error}{down.Output}");
            Assert.True(daemon!.WaitForExit(TimeSpan.FromSeconds(10)), "meshwire-wg kept running after wg-quick down");
        }
        finally
        {
            FindDaemon(name)?.Kill();
            configDir.Delete(recursive: true);
        }
    }

    /// <summary>The detached meshwire-wg this test started for <paramref name="name"/>, found by its command line.</summary>
    private static Process? FindDaemon(string name)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (cmdline.Length >= 2 && cmdline[0].EndsWith("meshwire-wg", StringComparison.Ordinal) && cmdline[^1] == name)
                {
                    return Process.GetProcessById(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // The process ended while we looked.
            }
        }

        return null;
    }
}
