using System.Net;
using System.Net.Sockets;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Meshwire.Testing;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The server's timers, driven by a fake clock over a loopback socket pair (no HTTP in between). The clock is a
/// Linux host's (UptimeClock), started at weeks of uptime and just before each overflow boundary of a timestamp
/// conversion, so each timer fires across the edge.
/// </summary>
public sealed class RelayServerClockTests
{
    /// <summary>Uptimes to start at: weeks, and <paramref name="before"/> ahead of each boundary (boot at the latest).</summary>
    private static TheoryData<double> UptimesBefore(TimeSpan before)
    {
        var data = new TheoryData<double> { UptimeClock.WeeksOfUptime.TotalSeconds };
        foreach (var boundary in UptimeClock.Boundaries)
        {
            data.Add((boundary > before ? boundary - before : TimeSpan.Zero).TotalSeconds);
        }

        return data;
    }

    // The handshake timeout (10 s) and the keep-alive interval (60 s) each end past the boundary.
    public static TheoryData<double> HandshakeUptimes() => UptimesBefore(TimeSpan.FromSeconds(5));

    public static TheoryData<double> KeepAliveUptimes() => UptimesBefore(TimeSpan.FromSeconds(30));

    [Theory]
    [MemberData(nameof(HandshakeUptimes))]
    public async Task HandleConnectionAsync_NoClientInfoWithinTimeout_ClosesAndCountsFailure(double uptimeSeconds)
    {
        var clock = new UptimeClock(TimeSpan.FromSeconds(uptimeSeconds));
        await using var server = new RelayServer(new RelayServerOptions { PrivateKey = RelayKeys.GenerateServerKey(), TimeProvider = clock });
        var (client, serving) = await ServeAsync(server);
        await using var owned = client;

        var serverKey = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerKeyPayloadLength];
        await client.ReadExactlyAsync(serverKey);
        Assert.Equal((byte)FrameType.ServerKey, serverKey[0]);
        Assert.False(serving.IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(11));
        await serving.WaitAsync(RelayLab.Timeout);
        Assert.Equal(1, server.Metrics.HandshakeFailures);
    }

    [Theory]
    [MemberData(nameof(KeepAliveUptimes))]
    public async Task KeepAliveInterval_Elapsed_EveryClientGetsKeepAlive(double uptimeSeconds)
    {
        var clock = new UptimeClock(TimeSpan.FromSeconds(uptimeSeconds));
        await using var server = new RelayServer(new RelayServerOptions { PrivateKey = RelayKeys.GenerateServerKey(), TimeProvider = clock });
        var (client, serving) = await ServeAsync(server);
        await using var owned = client;

        var header = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerKeyPayloadLength];
        await client.ReadExactlyAsync(header);
        FrameReader.TryRead(header, out _, out var payload, out _);
        RelayFrames.TryParseServerKey(payload, out var serverKey, out var challenge);
        var info = new byte[ClientProof.FrameLength];
        ClientProof.WriteClientInfo(info, RelayKeys.GenerateNodeKey(), serverKey, challenge, null);
        await client.WriteAsync(info);
        var serverInfo = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerInfoPayloadLength];
        await client.ReadExactlyAsync(serverInfo);
        await RelayLab.EventuallyAsync(() => server.ClientCount == 1, "registration");

        clock.Advance(TimeSpan.FromSeconds(60));
        var keepAlive = new byte[RelayProtocol.FrameHeaderLength];
        await client.ReadExactlyAsync(keepAlive).AsTask().WaitAsync(RelayLab.Timeout);
        Assert.Equal(new byte[] { (byte)FrameType.KeepAlive, 0, 0, 0, 0 }, keepAlive);

        client.Close();
        await serving.WaitAsync(RelayLab.Timeout);
        Assert.Equal(0, server.ClientCount);
    }

    private static async Task<(NetworkStream Client, Task Serving)> ServeAsync(RelayServer server)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accept = listener.AcceptSocketAsync();
        var clientSocket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        var serverSocket = await accept;
        var serving = Task.Run(async () =>
        {
            await using var stream = new NetworkStream(serverSocket, ownsSocket: true);
            await server.HandleConnectionAsync(stream, CancellationToken.None);
        });
        return (new NetworkStream(clientSocket, ownsSocket: true), serving);
    }
}
