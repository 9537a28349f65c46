using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests;

/// <summary>The running meshwire-wg rejects bad configuration without changing anything and survives hostile datagrams.</summary>
[Collection(LabCollection.Name)]
public sealed class RobustnessTests
{
    [Theory]
    [InlineData("private_key=zz\n")]
    [InlineData("private_key=0123\n")]
    [InlineData("listen_port=70000\n")]
    [InlineData("public_key=0000000000000000000000000000000000000000000000000000000000000001\nendpoint=host.invalid:1\n")]
    [InlineData("public_key=0000000000000000000000000000000000000000000000000000000000000001\nallowed_ip=10.0.0.0/33\n")]
    [InlineData("no_such_key=1\n")]
    public void UapiSet_BadValue_ReturnsEinvalAndChangesNothing(string body)
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        var before = Uapi(lab.A, "get=1\n\n");

        var answer = Uapi(lab.A, "set=1\n" + body + "\n");

        Assert.Equal("errno=-22\n\n", answer);
        Assert.Equal(before, Uapi(lab.A, "get=1\n\n"));
    }

    [Fact]
    public void HostileDatagrams_AreDropped_AndTheTunnelKeepsWorking()
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        Assert.Equal(0, lab.A.Exec("ping", "-c", "1", "-W", "5", lab.B.Tunnel).ExitCode);

        using var attacker = lab.A.Namespace.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = new IPEndPoint(IPAddress.Parse(lab.B.Underlay), 51821);
        var random = new Random(7);
        var buffer = new byte[2000];
        for (var i = 0; i < 5000; i++)
        {
            var length = random.Next(0, buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            if (length >= 4 && i % 2 == 0)
            {
                // Valid-looking headers of every message type, so parsing goes past the first byte.
                buffer[0] = (byte)(1 + (i / 2 % 4));
                buffer[1] = buffer[2] = buffer[3] = 0;
            }

            attacker.SendTo(buffer.AsSpan(0, length), target);
        }

        var ping = lab.A.Exec("ping", "-c", "3", "-i", "0.2", "-W", "5", lab.B.Tunnel);
        Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
        Assert.False(System.Diagnostics.Process.GetProcessById(lab.B.Pid).HasExited);
    }

    [Fact]
    public void DeletingTheInterface_StopsTheDaemon()
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        using var process = System.Diagnostics.Process.GetProcessById(lab.A.Pid);
        lab.A.Exec("ip", "link", "del", lab.A.Interface).EnsureSuccess("ip link del");
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), "meshwire-wg kept running after its interface was deleted");
        Assert.False(File.Exists($"/var/run/wireguard/{lab.A.Interface}.sock"));
    }

    private static string Uapi(WireGuardLab.Side side, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint($"/var/run/wireguard/{side.Interface}.sock"));
        socket.Send(Encoding.ASCII.GetBytes(request));
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        socket.ReceiveTimeout = 5000;
        while (!answer.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            var n = socket.Receive(buffer);
            if (n == 0)
            {
                break;
            }

            answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return answer.ToString();
    }
}
