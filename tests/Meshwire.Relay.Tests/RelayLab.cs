using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Core;
using Meshwire.Relay;
using Meshwire.RelayHost;

namespace Meshwire.Relay.Tests;

/// <summary>Starts real relays on 127.0.0.1 with ephemeral ports, and clients for them.</summary>
internal static class RelayLab
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Loopback, ephemeral port, no STUN: what most tests want.</summary>
    public static RelayHostOptions Options => new() { Listen = new IPEndPoint(IPAddress.Loopback, 0), StunPort = null };

    public static async Task<RelayHostApp> StartAsync(RelayHostOptions? options = null)
    {
        var host = RelayHostApp.Create(options ?? Options);
        await host.StartAsync();
        return host;
    }

    public static RelayClientOptions FastReconnect => new()
    {
        MinReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(400),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    public static async Task<RelayClient> ConnectAsync(RelayHostApp host, NodePrivateKey? key = null, RelayClientOptions? options = null)
    {
        var client = new RelayClient(host.Url, key ?? RelayKeys.GenerateNodeKey(), options ?? FastReconnect);
        await client.ConnectAsync();
        var first = await client.ReceiveAsync(new byte[16]).AsTask().WaitAsync(Timeout);
        Assert.Equal(RelayMessageKind.Connected, first.Kind);
        return client;
    }

    /// <summary>Receives until a message of <paramref name="kind"/> arrives (others are skipped).</summary>
    public static async Task<RelayMessage> ReceiveKindAsync(RelayClient client, byte[] buffer, RelayMessageKind kind, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            var message = await client.ReceiveAsync(buffer, cts.Token);
            if (message.Kind == kind)
            {
                return message;
            }
        }
    }

    /// <summary>A raw TCP connection that has done the HTTP upgrade and nothing else.</summary>
    public static async Task<NetworkStream> RawUpgradeAsync(RelayHostApp host)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, host.Url.Port);
        var stream = new NetworkStream(socket, ownsSocket: true);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /relay HTTP/1.1\r\nHost: {host.Url.Authority}\r\nConnection: Upgrade\r\nUpgrade: meshwire-relay\r\n\r\n"));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            head.Append((char)one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101", head.ToString(), StringComparison.Ordinal);
        return stream;
    }

    /// <summary>Reads until the peer closes; true when it did within the timeout.</summary>
    public static async Task<bool> ClosedByPeerAsync(Stream stream)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            while (await stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
