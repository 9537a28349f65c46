using System.Net;
using System.Net.Sockets;
using Meshwire.Core;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Meshwire.RelayHost;
using Meshwire.Testing;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The server's timers, driven by a fake clock over a loopback socket pair (no HTTP in between). The clock is a
/// Linux host's (UptimeClock), started at weeks of uptime and just before each overflow boundary of a timestamp
/// conversion, so each timer fires, and the rate limit refills, across the edge.
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

    // The rate limit's bucket is spent a second before the boundary and refilled by time that crosses it.
    public static TheoryData<double> RateLimitUptimes() => UptimesBefore(TimeSpan.FromSeconds(1));

    [Theory]
    [MemberData(nameof(RateLimitUptimes))]
    public async Task SendPacket_BurstSpentBeforeBoundary_RefilledByTimeAcrossIt(double uptimeSeconds)
    {
        var clock = new UptimeClock(TimeSpan.FromSeconds(uptimeSeconds));
        await using var relay = RelayHostApp.Create(RelayLab.Options with { RateLimitBytesPerSecond = 1000, RateLimitBurstBytes = 2000 }, timeProvider: clock);
        await relay.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        await using var bob = await RelayLab.ConnectAsync(relay);
        var metrics = relay.Server.Metrics;

        // Six 500-byte packets against a 2000-byte burst: some pass, the rest are dropped, and the frozen clock
        // refills nothing.
        await SendAsync(alice, bob.PublicKey, 6);
        await RelayLab.EventuallyAsync(() => metrics.PacketsRelayed + metrics.Drops(RelayDropReason.RateLimited) == 6, "first batch");
        var passed = metrics.PacketsRelayed;
        Assert.InRange(passed, 1, 4);

        // Two seconds across the boundary refill the whole burst: the same number passes again.
        clock.Advance(TimeSpan.FromSeconds(2));
        await SendAsync(alice, bob.PublicKey, 6);
        await RelayLab.EventuallyAsync(() => metrics.PacketsRelayed + metrics.Drops(RelayDropReason.RateLimited) == 12, "second batch");
        Assert.Equal(2 * passed, metrics.PacketsRelayed);
    }

    private static async Task SendAsync(RelayClient from, NodePublicKey to, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await from.SendAsync(to, new byte[500]));
        }
    }

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
