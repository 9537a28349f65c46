using System.Net.Sockets;

namespace Meshwire.Control.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task StartAsync_AdminSocketAndListenUrl_AnswersOnBoth()
    {
        // Regression: binding the admin socket made Kestrel drop the --listen URLs.
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        Assert.Equal("127.0.0.1", server.Url.Host);
        Assert.NotEqual(0, server.Url.Port);
        using var tcp = new HttpClient { BaseAddress = server.Url };
        Assert.Equal("ok", await tcp.GetStringAsync("/healthz"));

        var socket = Path.Combine(server.State, "control.sock");
        using var unix = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://localhost") };
        Assert.Equal("ok", await unix.GetStringAsync("/healthz"));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task AdminSocket_WithoutApiKey_IsTrustedAndOwnerOnly()
    {
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        var socket = Path.Combine(server.State, "control.sock");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
        using var unix = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        }) { BaseAddress = new Uri("http://localhost") };
        using var overSocket = await unix.GetAsync("/api/v1/users");
        Assert.Equal(System.Net.HttpStatusCode.OK, overSocket.StatusCode);

        // The same request over TCP still needs an API key.
        using var tcp = new HttpClient { BaseAddress = server.Url };
        using var overTcp = await tcp.GetAsync("/api/v1/users");
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, overTcp.StatusCode);
    }

    [Theory]
    [InlineData("https://127.0.0.1:0")]
    [InlineData("http://example.com:80")]
    public async Task StartAsync_UnsupportedListenUrl_RefusedWithMessage(string url)
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-listen").FullName;
        try
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(
                o =>
                {
                    o.Urls.Clear();
                    o.Urls.Add(url);
                },
                state));
            Assert.Contains("--listen", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(state, recursive: true);
        }
    }
}
