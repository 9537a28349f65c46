using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests;

/// <summary>
/// meshwire-wg against itself and against Debian's wireguard-go, both ways, in two namespaces joined by veth:
/// ping over IPv4 and IPv6, a 50 MB TCP transfer checked by SHA-256, and `wg show` counters.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class InteropTests
{
    private const int TransferBytes = 50 * 1024 * 1024;

    public static TheoryData<Implementation, Implementation> Pairs => new()
    {
        { Implementation.MeshwireWg, Implementation.MeshwireWg },
        { Implementation.MeshwireWg, Implementation.WireGuardGo },
        { Implementation.WireGuardGo, Implementation.MeshwireWg },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Tunnel_BetweenImplementations_CarriesPingAndTcpAndReportsCounters(Implementation a, Implementation b)
    {
        using var lab = WireGuardLab.Create(a, b);

        var ping = lab.A.Exec("ping", "-c", "3", "-i", "0.2", "-W", "5", lab.B.Tunnel);
        Assert.True(ping.ExitCode == 0, $"ping {a}→{b} failed: {ping.Output}{ping.Error}");
        var ping6 = lab.B.Exec("ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", lab.A.Tunnel6);
        Assert.True(ping6.ExitCode == 0, $"ping6 {b}→{a} failed: {ping6.Output}{ping6.Error}");

        var (sent, received) = TransferTcp(lab, lab.A, lab.B, TransferBytes);
        Assert.Equal(Convert.ToHexString(sent), Convert.ToHexString(received));

        foreach (var side in new[] { lab.A, lab.B })
        {
            var handshakes = side.Wg("show", side.Interface, "latest-handshakes").EnsureSuccess("wg show latest-handshakes").Output;
            var fields = handshakes.Split('\t', StringSplitOptions.TrimEntries);
            Assert.True(fields.Length == 2 && long.Parse(fields[1]) > 0, $"{side.Implementation} reports no handshake: '{handshakes}'");

            var transfer = side.Wg("show", side.Interface, "transfer").EnsureSuccess("wg show transfer").Output.Split('\t', StringSplitOptions.TrimEntries);
            var rx = long.Parse(transfer[1]);
            var tx = long.Parse(transfer[2]);
            var bulk = side == lab.A ? tx : rx;
            Assert.True(bulk >= TransferBytes, $"{side.Implementation} counted {bulk} bytes for a {TransferBytes}-byte transfer");
            Assert.True(rx > 0 && tx > 0);
        }
    }

    [Fact]
    public void WgShowconf_ReadsBackTheConfiguration()
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        var conf = lab.A.Wg("showconf", lab.A.Interface).EnsureSuccess("wg showconf").Output;
        Assert.Contains($"PrivateKey = {lab.A.PrivateKey}", conf);
        Assert.Contains("ListenPort = 51820", conf);
        Assert.Contains($"PublicKey = {lab.B.PublicKey}", conf);
        Assert.Contains($"Endpoint = {lab.B.Underlay}:51821", conf);
        Assert.Contains($"AllowedIPs = {lab.B.Tunnel}/32, {lab.B.Tunnel6}/128", conf);
    }

    /// <summary>Sends deterministic pseudo-random bytes from one side's tunnel address to the other's; returns both hashes.</summary>
    internal static (byte[] Sent, byte[] Received) TransferTcp(WireGuardLab lab, WireGuardLab.Side from, WireGuardLab.Side to, int bytes)
    {
        using var listener = to.Namespace.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(lab.TunnelAddress(to), 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        var receive = Task.Run(() =>
        {
            using var connection = listener.Accept();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = connection.Receive(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }

            Assert.Equal(bytes, total);
            return hash.GetHashAndReset();
        });

        using var client = from.Namespace.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(lab.TunnelAddress(to), port));
        using var sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(20261125);
        var chunk = new byte[64 * 1024];
        var left = bytes;
        while (left > 0)
        {
            var size = Math.Min(left, chunk.Length);
            random.NextBytes(chunk.AsSpan(0, size));
            sentHash.AppendData(chunk, 0, size);
            client.Send(chunk.AsSpan(0, size));
            left -= size;
        }

        client.Shutdown(SocketShutdown.Send);
        if (!receive.Wait(TimeSpan.FromSeconds(120)))
        {
            throw new TimeoutException("the transfer did not finish within 120 s");
        }

        return (sentHash.GetHashAndReset(), receive.Result);
    }
}

/// <summary>Lab tests share the machine's CPUs and /var/run/wireguard; run them one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "network lab";
}
