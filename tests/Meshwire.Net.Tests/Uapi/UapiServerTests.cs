using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Core;
using Meshwire.Net.Uapi;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Tests.Uapi;

public sealed class UapiServerTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mw-uapi-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeDevice _device = new();

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static async Task<string> ExchangeAsync(Socket socket, string request)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(request));
        return await ReadResponseAsync(socket);
    }

    /// <summary>Reads until the blank line that ends a response ("\n\n"), or until the server closes.</summary>
    private static async Task<string> ReadResponseAsync(Socket socket)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!received.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return received.ToString();
    }

    private async Task<Socket> ConnectAsync(UapiServer server)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath));
        return socket;
    }

    [Fact]
    public async Task Start_CreatesSocketInDirectoryWithOwnerOnlyMode()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);

        Assert.Equal(Path.Combine(_directory, "mw0.sock"), server.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(server.SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(_directory));
    }

    [Fact]
    public async Task Dispose_DeletesSocketFile()
    {
        var server = UapiServer.Start("mw0", _device, _directory);
        var path = server.SocketPath;

        await server.DisposeAsync();

        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Start_StaleSocketFile_IsReplaced()
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, "mw0.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path));
        }

        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal("errno=0\n\n", await ExchangeAsync(client, "get=1\n\n"));
    }

    [Fact]
    public async Task Start_SocketServedByLiveServer_Throws()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);

        Assert.Throws<IOException>(() => UapiServer.Start("mw0", _device, _directory));
    }

    [Fact]
    public async Task Get_ReturnsFormattedStatus()
    {
        _device.Status = new DeviceStatus(new NodePrivateKey(TestKeys.Key(1)), 51820, 0,
            [new PeerStatus(new NodePublicKey(TestKeys.Key(2)), PresharedKey.None, IPEndPoint.Parse("127.0.0.1:9"), 0, null, 1, 2, [IPNetwork.Parse("10.0.0.0/8")])]);
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        var expected = new StringWriter();
        UapiProtocol.FormatGet(_device.Status, expected);
        Assert.Equal(expected.ToString(), await ExchangeAsync(client, "get=1\n\n"));
    }

    [Fact]
    public async Task Set_ValidRequest_AppliesAndAnswersZero()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        var response = await ExchangeAsync(client, $"set=1\nlisten_port=4242\npublic_key={TestKeys.Hex(5)}\nallowed_ip=10.1.0.0/16\n\n");

        Assert.Equal("errno=0\n\n", response);
        var update = Assert.Single(_device.Applied);
        Assert.Equal((ushort)4242, update.ListenPort);
        Assert.Equal(IPNetwork.Parse("10.1.0.0/16"), Assert.Single(Assert.Single(update.Peers).AllowedIps));
    }

    [Fact]
    public async Task Set_DeviceRefuses_AnswersDeviceErrno()
    {
        _device.ApplyResult = -98;
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal("errno=-98\n\n", await ExchangeAsync(client, "set=1\nlisten_port=1\n\n"));
    }

    [Fact]
    public async Task Set_InvalidRequest_AnswersEinvalAppliesNothingAndKeepsConnection()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal("errno=-22\n\n", await ExchangeAsync(client, "set=1\nlisten_port=1\nallowed_ip=10.0.0.0/8\n\n"));
        Assert.Empty(_device.Applied);
        Assert.Equal("errno=0\n\n", await ExchangeAsync(client, "get=1\n\n"));
    }

    [Fact]
    public async Task Connection_SeveralRequestsInOneWrite_AnswersEachInOrder()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        await client.SendAsync(Encoding.UTF8.GetBytes("set=1\nfwmark=1\n\nset=1\nfwmark=2\n\nget=1\n\n"));

        var responses = new StringBuilder();
        while (responses.Length < "errno=0\n\n".Length * 3)
        {
            var part = await ReadResponseAsync(client);
            Assert.NotEmpty(part);
            responses.Append(part);
        }

        Assert.Equal("errno=0\n\nerrno=0\n\nerrno=0\n\n", responses.ToString());
        Assert.Equal([1u, 2u], _device.Applied.Select(u => u.FirewallMark!.Value));
    }

    [Fact]
    public async Task Get_TrailingGarbage_AnswersEinvalAndCloses()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal("errno=-22\n\n", await ExchangeAsync(client, "get=1\nx\n"));
        Assert.Equal(string.Empty, await ReadResponseAsync(client));
    }

    [Fact]
    public async Task UnknownOperation_ClosesWithoutAnswer()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal(string.Empty, await ExchangeAsync(client, "get=2\n\n"));
    }

    [Fact]
    public async Task ConcurrentConnections_AreServedIndependently()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ConnectAsync(server)));
        try
        {
            var responses = await Task.WhenAll(clients.Select((c, i) => ExchangeAsync(c, $"set=1\nlisten_port={i + 1}\n\n")));

            Assert.All(responses, r => Assert.Equal("errno=0\n\n", r));
            Assert.Equal([1, 2, 3, 4], _device.Applied.Select(u => (int)u.ListenPort!.Value).Order());
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task Dispose_WithOpenConnection_Completes()
    {
        var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await ConnectAsync(server);
        await ExchangeAsync(client, "get=1\n\n");

        await server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(string.Empty, await ReadResponseAsync(client));
    }

    [Fact]
    public async Task DeviceThrows_AnswersUnknownErrnoAndKeepsServing()
    {
        await using var server = UapiServer.Start("mw0", new ThrowingDevice(), _directory);
        using var client = await ConnectAsync(server);

        Assert.Equal("errno=-55\n\n", await ExchangeAsync(client, "get=1\n\n"));
        Assert.Equal("errno=-55\n\n", await ExchangeAsync(client, "set=1\nlisten_port=1\n\n"));
    }
}
