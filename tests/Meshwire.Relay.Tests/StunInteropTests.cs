using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meshwire.Relay.Stun;

namespace Meshwire.Relay.Tests;

/// <summary>STUN against coturn (Debian package coturn), both directions, on loopback.</summary>
public sealed class StunInteropTests
{
    private const string StunClientTool = "/usr/bin/turnutils_stunclient";
    private const string TurnServerTool = "/usr/bin/turnserver";

    [Fact]
    public async Task StunServer_OwnClient_LearnsMappedAddress()
    {
        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { StunPort = 0 });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var mapped = await StunClient.QueryAsync(socket, relay.StunEndPoint!, TimeSpan.FromSeconds(5));
        Assert.Equal(((IPEndPoint)socket.LocalEndPoint!).ToString(), mapped?.ToString());
    }

    [CoturnFact(StunClientTool)]
    public async Task StunServer_TurnutilsStunclient_GetsReflexiveAddress()
    {
        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { StunPort = 0 });
        var (exit, output) = await RunAsync(StunClientTool, $"-p {relay.StunEndPoint!.Port} 127.0.0.1");
        Assert.True(exit == 0, output);
        Assert.Contains("UDP reflexive addr: 127.0.0.1:", output);
    }

    [CoturnFact(TurnServerTool)]
    public async Task StunClient_CoturnServer_LearnsMappedAddress()
    {
        var port = FreeUdpPort();
        var workDir = Directory.CreateTempSubdirectory("meshwire-coturn");
        using var turn = Process.Start(new ProcessStartInfo(TurnServerTool,
            $"-n --listening-ip=127.0.0.1 --listening-port={port} --stun-only --no-cli --no-tls --no-dtls --simple-log --log-file=stdout --userdb={Path.Combine(workDir.FullName, "turndb")}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workDir.FullName,
        })!;
        turn.BeginOutputReadLine();
        turn.BeginErrorReadLine();
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var server = new IPEndPoint(IPAddress.Loopback, port);
            // turnserver needs a moment to bind; the query retransmits meanwhile.
            var mapped = await StunClient.QueryAsync(socket, server, TimeSpan.FromSeconds(8));
            Assert.Equal(((IPEndPoint)socket.LocalEndPoint!).ToString(), mapped?.ToString());
        }
        finally
        {
            turn.Kill();
            await turn.WaitForExitAsync();
            workDir.Delete(recursive: true);
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string tool, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A fact that is skipped, saying why, when a coturn binary is not installed.</summary>
internal sealed class CoturnFactAttribute : FactAttribute
{
    public CoturnFactAttribute(string tool)
    {
        if (!File.Exists(tool))
        {
            Skip = $"{tool} is missing: install the Debian package coturn (./run test installs it).";
        }
    }
}
