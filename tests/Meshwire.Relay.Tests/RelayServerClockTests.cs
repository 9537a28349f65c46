using System.Net;
using System.Net.Sockets;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Microsoft.Extensions.Time.Testing;

namespace Meshwire.Relay.Tests;

/// <summary>The server's timers, driven by a fake clock over a loopback socket pair (no HTTP in between).</summary>
public sealed class RelayServerClockTests
{
    [Fact]
    public async Task HandleConnectionAsync_NoClientInfoWithinTimeout_ClosesAndCountsFailure()
    {
        var clock = new FakeTimeProvider();
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

    [Fact]
    public async Task KeepAliveInterval_Elapsed_EveryClientGetsKeepAlive()
    {
        var clock = new FakeTimeProvider();
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
