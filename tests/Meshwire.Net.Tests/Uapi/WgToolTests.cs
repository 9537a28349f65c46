using System.Diagnostics;
using System.Net;
using Meshwire.Core;
using Meshwire.Net.Uapi;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>
/// Drives the server with the real wg(8), which finds userspace interfaces only in /var/run/wireguard.
/// Skipped where wg is not installed or the directory cannot be written (not root).
/// </summary>
public sealed class WgToolTests
{
    private const string WgPath = "/usr/bin/wg";

    private static bool CanRun => File.Exists(WgPath) && Environment.UserName == "root";

    private static (int ExitCode, string Output) RunWg(params string[] arguments)
    {
        var start = new ProcessStartInfo(WgPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            process.Kill();
            throw new TimeoutException("wg did not finish.");
        }

        return (process.ExitCode, output.Result + error.Result);
    }

    private static string UniqueName() => "mwtest" + Random.Shared.Next(0, 1 << 24).ToString("x6", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task WgShowDump_ReadsStatusFromServer()
    {
        if (!CanRun)
        {
            return;
        }

        var device = new FakeDevice
        {
            Status = new DeviceStatus(new NodePrivateKey(TestKeys.Key(1)), 51820, 0,
                [new PeerStatus(new NodePublicKey(TestKeys.Key(2)), PresharedKey.None, IPEndPoint.Parse("127.0.0.1:51821"), 25,
                    DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), 300, 200, [IPNetwork.Parse("10.7.0.0/24")])]),
        };
        var name = UniqueName();
        await using var server = UapiServer.Start(name, device);

        var (exitCode, output) = RunWg("show", name, "dump");

        Assert.Equal(0, exitCode);
        var lines = output.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{TestKeys.Key(1).ToBase64()}\t", lines[0], StringComparison.Ordinal);
        Assert.Contains("\t51820\toff", lines[0], StringComparison.Ordinal);
        Assert.Equal(
            $"{TestKeys.Key(2).ToBase64()}\t(none)\t127.0.0.1:51821\t10.7.0.0/24\t1700000000\t300\t200\t25",
            lines[1]);
    }

    [Fact]
    public async Task WgSet_SendsValidatedUpdate()
    {
        if (!CanRun)
        {
            return;
        }

        var device = new FakeDevice();
        var name = UniqueName();
        await using var server = UapiServer.Start(name, device);

        var (exitCode, output) = RunWg("set", name, "listen-port", "40000", "fwmark", "0x20",
            "peer", TestKeys.Key(3).ToBase64(), "endpoint", "[::1]:5000", "persistent-keepalive", "10", "allowed-ips", "10.8.0.0/16,fd08::/64");

        Assert.True(exitCode == 0, output);
        var update = Assert.Single(device.Applied);
        Assert.Equal((ushort)40000, update.ListenPort);
        Assert.Equal(0x20u, update.FirewallMark);
        var peer = Assert.Single(update.Peers);
        Assert.Equal(new NodePublicKey(TestKeys.Key(3)), peer.PublicKey);
        Assert.Equal(IPEndPoint.Parse("[::1]:5000"), peer.Endpoint);
        Assert.Equal((ushort)10, peer.PersistentKeepaliveInterval);
        Assert.True(peer.ReplaceAllowedIps);
        Assert.Equal([IPNetwork.Parse("10.8.0.0/16"), IPNetwork.Parse("fd08::/64")], peer.AllowedIps);
    }

    [Fact]
    public async Task WgSet_DeviceError_WgFails()
    {
        if (!CanRun)
        {
            return;
        }

        var device = new FakeDevice { ApplyResult = -98 };
        var name = UniqueName();
        await using var server = UapiServer.Start(name, device);

        var (exitCode, output) = RunWg("set", name, "listen-port", "1");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Address already in use", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WgSetconf_FiftyThousandAllowedIps_AppliedAsOneRequest()
    {
        if (!CanRun)
        {
            return;
        }

        // Well inside UapiLimits.MaxRequestLines: one peer with 50,000 allowed IPs, as wg setconf sends it.
        var device = new FakeDevice();
        var name = UniqueName();
        await using var server = UapiServer.Start(name, device);
        var config = Path.GetTempFileName();
        try
        {
            var text = new System.Text.StringBuilder()
                .Append("[Interface]\nPrivateKey = ").Append(TestKeys.Key(1).ToBase64()).Append("\nListenPort = 40000\n")
                .Append("[Peer]\nPublicKey = ").Append(TestKeys.Key(3).ToBase64()).Append('\n');
            for (var i = 0; i < 50_000; i++)
            {
                text.Append("AllowedIPs = 10.").Append(i >> 8).Append('.').Append(i & 255).Append(".0/24\n");
            }

            await File.WriteAllTextAsync(config, text.ToString());

            var (exitCode, output) = RunWg("setconf", name, config);

            Assert.True(exitCode == 0, output);
            var update = Assert.Single(device.Applied);
            Assert.True(update.ReplacePeers);
            Assert.Equal(50_000, Assert.Single(update.Peers).AllowedIps.Count);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
