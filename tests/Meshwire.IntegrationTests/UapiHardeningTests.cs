using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests;

/// <summary>
/// A live meshwire-wg against UAPI clients that stop half way, send a 100 MB line, or hold a request open: the tunnel
/// keeps working, nothing of those requests is applied, and the stock wg tool keeps reading and changing the device.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class UapiHardeningTests
{
    [Fact]
    public void TruncatedSet_ChangesNothing_WhileWgKeepsWorking()
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        AssertTunnelWorks(lab);
        var before = ShowConf(lab.A);

        // The request that moved the listen port and broke the tunnel: a new port, every peer replaced by a
        // catch-all one, cut off before its blank line. One client closes; the other holds it open meanwhile.
        var body = "set=1\nlisten_port=40000\nreplace_peers=true\npublic_key=" + new string('1', 64) + "\nallowed_ip=0.0.0.0/0\n";
        using var held = Connect(lab.A);
        held.Send(Encoding.ASCII.GetBytes(body));
        using (var cut = Connect(lab.A))
        {
            cut.Send(Encoding.ASCII.GetBytes(body));
            cut.Shutdown(SocketShutdown.Send);
            Assert.Equal(string.Empty, ReadAnswer(cut));
        }

        // wg reads and writes the device while a request is held open on another connection.
        Assert.Equal(before, ShowConf(lab.A));
        Assert.Equal("51820", lab.A.Wg("show", lab.A.Interface, "listen-port").EnsureSuccess("wg show").Output.Trim());
        lab.A.Wg("set", lab.A.Interface, "peer", lab.B.PublicKey, "persistent-keepalive", "25").EnsureSuccess("wg set");
        Assert.Contains("\t25", lab.A.Wg("show", lab.A.Interface, "persistent-keepalive").EnsureSuccess("wg show").Output, StringComparison.Ordinal);
        held.Shutdown(SocketShutdown.Send);
        Assert.Equal(string.Empty, ReadAnswer(held));

        var after = ShowConf(lab.A);
        Assert.Contains("ListenPort = 51820", after, StringComparison.Ordinal);
        Assert.Contains($"PublicKey = {lab.B.PublicKey}", after, StringComparison.Ordinal);
        Assert.DoesNotContain("0.0.0.0/0", after, StringComparison.Ordinal);
        AssertTunnelWorks(lab);
    }

    [Fact]
    public void HundredMegabyteLine_IsRefused_WithoutGrowingTheDaemon()
    {
        using var lab = WireGuardLab.Create(Implementation.MeshwireWg, Implementation.MeshwireWg);
        AssertTunnelWorks(lab);
        var before = ShowConf(lab.A);
        var peakBefore = PeakResidentBytes(lab.A.Pid);

        string answer;
        long sent = 0;
        using (var socket = Connect(lab.A))
        {
            socket.Send("set=1\nlisten_port=40000\nprivate_key="u8);
            var chunk = new byte[64 << 10];
            chunk.AsSpan().Fill((byte)'a');
            try
            {
                // At most 100 MB of one line; the server stops reading long before.
                while (sent < 100 << 20)
                {
                    sent += socket.Send(chunk);
                }

                socket.Send("\n\n"u8);
            }
            catch (SocketException)
            {
                // The server refused the line and closed.
            }

            answer = ReadAnswer(socket);
        }

        var growth = PeakResidentBytes(lab.A.Pid) - peakBefore;
        Assert.Equal("errno=-90\n\n", answer);
        Assert.True(sent < 100 << 20, $"meshwire-wg read all {sent} bytes of the line");
        Assert.True(growth < 32 << 20, $"meshwire-wg's peak resident memory grew by {growth} bytes");
        Assert.Equal(before, ShowConf(lab.A));
        lab.A.Wg("set", lab.A.Interface, "peer", lab.B.PublicKey, "persistent-keepalive", "25").EnsureSuccess("wg set");
        Assert.Contains("PersistentKeepalive = 25", ShowConf(lab.A), StringComparison.Ordinal);
        AssertTunnelWorks(lab);
    }

    private static void AssertTunnelWorks(WireGuardLab lab)
    {
        var ping = lab.A.Exec("ping", "-c", "3", "-i", "0.2", "-W", "5", lab.B.Tunnel);
        Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
    }

    private static string ShowConf(WireGuardLab.Side side) => side.Wg("showconf", side.Interface).EnsureSuccess("wg showconf").Output;

    private static Socket Connect(WireGuardLab.Side side)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000, SendTimeout = 30_000 };
        socket.Connect(new UnixDomainSocketEndPoint($"/var/run/wireguard/{side.Interface}.sock"));
        return socket;
    }

    /// <summary>The answer up to its blank line, or what came before the server closed (empty: no answer).</summary>
    private static string ReadAnswer(Socket socket)
    {
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        while (!answer.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Closed with our unread bytes in its queue: the answer, if any, came before.
                break;
            }

            if (n == 0)
            {
                break;
            }

            answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return answer.ToString();
    }

    /// <summary>The process's peak resident set (VmHWM), in bytes.</summary>
    private static long PeakResidentBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
