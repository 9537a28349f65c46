using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Meshwire.Agent.LocalApi;
using Meshwire.LocalApiTesting;

namespace Meshwire.Agent.Tests.LocalApi;

/// <summary>The LocalAPI over a real unix socket in a temporary directory, against a fake backend and fake paths.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalApiServerTests : IAsyncLifetime
{
    private readonly FakeBackend _backend = new();
    private LocalApiHost _host = null!;
    private LocalApiClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await LocalApiHost.StartAsync(_backend);
        _client = new LocalApiClient(_host.SocketPath);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Status_Running_ReportsSelfPeersPathsAndCounters()
    {
        var status = await _client.StatusAsync();

        Assert.Equal("Running", status.BackendState);
        Assert.Equal("alpha", status.Self.Name);
        Assert.Equal(["100.64.0.1", "fd7a:115c:a1e0::1"], status.Self.Addresses);
        Assert.Equal(FakeBackend.AlphaKey.ToString(), status.Self.NodeKey);
        Assert.Equal(["beta", "gamma"], status.Peers.Select(p => p.Name));
        var beta = status.Peers[0];
        Assert.Equal("beta.mesh.internal", beta.DnsName);
        Assert.Equal("direct", beta.Path.Kind);
        Assert.Equal("10.1.1.2:41641", beta.Path.Direct);
        Assert.Equal(1500, beta.RxBytes);
        Assert.Equal(3000, beta.TxBytes);
        Assert.NotNull(beta.LastHandshake);
        var gamma = status.Peers[1];
        Assert.Equal("relay", gamma.Path.Kind);
        Assert.Equal("r1", gamma.Path.RelayRegion);
        Assert.Equal(["tag:web"], gamma.Tags);
        Assert.Equal("bob", gamma.User);
        Assert.Null(gamma.LastHandshake);
    }

    [Fact]
    public async Task Status_NeedsLogin_CarriesAuthUrlAndNoAddresses()
    {
        _backend.State = Meshwire.Agent.State.BackendState.NeedsLogin;
        _backend.AuthUrl = "http://control.test/login/abc";
        _backend.Netmap = null;

        var status = await _client.StatusAsync();

        Assert.Equal("NeedsLogin", status.BackendState);
        Assert.Equal("http://control.test/login/abc", status.AuthUrl);
        Assert.Empty(status.Self.Addresses);
        Assert.Empty(status.Peers);
    }

    [Theory]
    [InlineData("100.64.0.2:443", "beta")]
    [InlineData("100.64.0.2", "beta")]
    [InlineData("[fd7a:115c:a1e0::3]:22", "gamma")]
    [InlineData("fd7a:115c:a1e0::3", "gamma")]
    [InlineData("100.64.0.1:80", "alpha")]
    public async Task WhoIs_AddressOfANode_AnswersThatNode(string address, string name)
    {
        var who = await _client.WhoIsAsync(address);

        Assert.NotNull(who);
        Assert.Equal($"{name}.mesh.internal.", who.Node.Name);
        Assert.Equal(name, who.Node.ComputedName);
    }

    [Fact]
    public async Task WhoIs_Peer_HasTailscaleFieldNames()
    {
        using var http = RawClient();
        var json = await http.GetStringAsync("/localapi/v0/whois?addr=100.64.0.3:443");
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        var node = root.GetProperty("Node");
        Assert.Equal("nab00000000000003", node.GetProperty("StableID").GetString());
        Assert.Equal(0x2b00000000000003, node.GetProperty("ID").GetInt64());
        Assert.Equal(FakeBackend.GammaKey.ToString(), node.GetProperty("Key").GetString());
        Assert.Equal("100.64.0.3/32", node.GetProperty("Addresses")[0].GetString());
        Assert.Equal("tag:web", node.GetProperty("Tags")[0].GetString());
        var user = root.GetProperty("UserProfile");
        Assert.Equal("bob", user.GetProperty("LoginName").GetString());
        Assert.Equal(node.GetProperty("User").GetInt64(), user.GetProperty("ID").GetInt64());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("CapMap").ValueKind);
    }

    [Fact]
    public async Task WhoIs_AddressNobodyHas_404WithJsonError()
    {
        using var http = RawClient();
        var response = await http.GetAsync("/localapi/v0/whois?addr=100.64.0.99:80");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("100.64.0.99", await ErrorOf(response));
        Assert.Null(await _client.WhoIsAsync("100.64.0.99"));
    }

    [Theory]
    [InlineData("GET", "whois", null)]
    [InlineData("GET", "whois?addr=1", null)]
    [InlineData("GET", "whois?addr=100.64.0.2:99999", null)]
    [InlineData("GET", "whois?addr=100.64.0.2:0", null)]
    [InlineData("GET", "whois?addr=100.64.0.2:http", null)]
    [InlineData("GET", "whois?addr=fd7a::1%25eth0", null)]
    [InlineData("GET", "whois?addr=example.com", null)]
    [InlineData("GET", "whois?addr=100.64.0.2&ip=1", null)]
    [InlineData("GET", "whois?addr=100.64.0.2&addr=100.64.0.3", null)]
    [InlineData("GET", "status?verbose=1", null)]
    [InlineData("POST", "ping", null)]
    [InlineData("POST", "ping?ip=100.64.0", null)]
    [InlineData("POST", "ping?ip=100.64.0.2&host=beta", null)]
    [InlineData("POST", "ping?ip=100.64.0.2&timeout=soon", null)]
    [InlineData("POST", "ping?ip=100.64.0.2&timeout=100s", null)]
    [InlineData("POST", "ping?ip=100.64.0.2&timeout=0", null)]
    [InlineData("POST", "ping?ip=100.64.0.1", null)]
    [InlineData("POST", "ping?ip=100.64.0.2", "{\"count\":3}")]
    [InlineData("PATCH", "prefs", null)]
    [InlineData("PATCH", "prefs", "{\"hostname\":")]
    [InlineData("PATCH", "prefs", "null")]
    [InlineData("PATCH", "prefs", "[1]")]
    [InlineData("PATCH", "prefs", "{\"hostname\":\"bad name\"}")]
    [InlineData("PATCH", "prefs", "{\"hostname\":\"\"}")]
    [InlineData("PATCH", "prefs", "{\"advertiseTags\":[\"web\"]}")]
    [InlineData("PATCH", "prefs", "{\"advertiseTags\":[\"tag:a\",\"tag:a\"]}")]
    [InlineData("PATCH", "prefs", "{\"loginServer\":\"ftp://control\"}")]
    [InlineData("PATCH", "prefs", "{\"wantRunning\":\"yes\"}")]
    [InlineData("PATCH", "prefs", "{\"colour\":\"blue\"}")]
    [InlineData("POST", "up", "{\"loginServer\":\"not a url\"}")]
    [InlineData("POST", "up", "{\"authKey\":\"has space\"}")]
    [InlineData("POST", "up", "[")]
    [InlineData("POST", "login", "{\"hostname\":\"-x\"}")]
    [InlineData("POST", "down", "please")]
    [InlineData("POST", "logout?now=1", null)]
    [InlineData("GET", "netcheck?fast=1", null)]
    [InlineData("GET", "version?short=1", null)]
    public async Task Endpoint_MalformedInput_400WithJsonError(string method, string path, string? body)
    {
        var response = await SendAsync(method, path, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty(await ErrorOf(response));
        Assert.Empty(_backend.Ups);
        Assert.Empty(_backend.Edits);
        Assert.Equal(0, _backend.Downs + _backend.Logouts);
    }

    [Theory]
    [InlineData("POST", "status", "GET")]
    [InlineData("GET", "ping?ip=100.64.0.2", "POST")]
    [InlineData("DELETE", "prefs", "GET, PATCH")]
    [InlineData("GET", "up", "POST")]
    [InlineData("GET", "down", "POST")]
    [InlineData("PUT", "logout", "POST")]
    [InlineData("POST", "whois?addr=100.64.0.2", "GET")]
    [InlineData("POST", "netcheck", "GET")]
    [InlineData("POST", "version", "GET")]
    public async Task Endpoint_WrongMethod_405WithAllowAndJsonError(string method, string path, string allow)
    {
        var response = await SendAsync(method, path, null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.NotEmpty(await ErrorOf(response));
    }

    [Theory]
    [InlineData("/localapi/v0/nope")]
    [InlineData("/localapi/v1/status")]
    [InlineData("/")]
    public async Task UnknownPath_404WithJsonError(string path)
    {
        using var http = RawClient();
        var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.NotEmpty(await ErrorOf(response));
    }

    [Fact]
    public async Task Prefs_Patch_AppliesAndAnswersNewPrefs()
    {
        var prefs = await _client.PatchPrefsAsync(new PrefsPatch { Hostname = "alpha-2", AdvertiseTags = ["tag:web", "tag:db"] });

        Assert.Equal("alpha-2", prefs.Hostname);
        Assert.Equal(["tag:web", "tag:db"], prefs.AdvertiseTags);
        var edit = Assert.Single(_backend.Edits);
        Assert.Equal("alpha-2", edit.Hostname);
        Assert.Null(edit.WantRunning);
        Assert.Equal("alpha-2", (await _client.GetPrefsAsync()).Hostname);
    }

    [Fact]
    public async Task Ping_ByName_PingsThePeersFirstAddressAndReportsPath()
    {
        var reply = await _client.PingAsync("gamma", TimeSpan.FromSeconds(2));

        Assert.True(reply.Replied);
        Assert.Equal("100.64.0.3", reply.Ip);
        Assert.Equal("gamma", reply.Peer.Name);
        Assert.Equal("relay", reply.Path.Kind);
        Assert.Equal(12, reply.RttMs);
        var ping = Assert.Single(_backend.FakePaths.Pings);
        Assert.Equal(FakeBackend.GammaKey, ping.Peer);
        Assert.Equal(IPAddress.Parse("100.64.0.3"), ping.Target);
        Assert.Equal(TimeSpan.FromSeconds(2), ping.Timeout);
    }

    [Fact]
    public async Task Ping_ByIPv6_PingsThatAddress()
    {
        var reply = await _client.PingAsync("fd7a:115c:a1e0::2");

        Assert.Equal("beta", reply.Peer.Name);
        Assert.Equal("direct", reply.Path.Kind);
        Assert.Equal(IPAddress.Parse("fd7a:115c:a1e0::2"), Assert.Single(_backend.FakePaths.Pings).Target);
    }

    [Fact]
    public async Task Ping_NoReply_200WithRepliedFalse()
    {
        _backend.FakePaths.Replies.Clear();

        var reply = await _client.PingAsync("100.64.0.2");

        Assert.False(reply.Replied);
        Assert.Null(reply.RttMs);
        Assert.Equal("timed out", reply.Error);
    }

    [Theory]
    [InlineData("100.64.0.99")]
    [InlineData("delta")]
    public async Task Ping_NobodyThere_404(string target)
    {
        var error = await Assert.ThrowsAsync<LocalApiException>(() => _client.PingAsync(target));

        Assert.Equal(404, error.StatusCode);
    }

    [Fact]
    public async Task Netcheck_AnswersThePathLayersReport()
    {
        var report = await _client.NetcheckAsync();

        Assert.True(report.Udp);
        Assert.Equal("203.0.113.7:41641", report.MappedV4);
        Assert.Equal("r1", report.PreferredRelayRegion);
        Assert.Equal(12, report.RelayLatencyMs["r1"]);
    }

    [Fact]
    public async Task UpDownLogout_ReachTheBackend()
    {
        var up = await _client.UpAsync(new UpBody { LoginServer = "http://control.test:8080", AuthKey = "mwauth-x", Hostname = "web-1", AdvertiseTags = ["tag:web"] });
        var down = await _client.DownAsync();
        var logout = await _client.LogoutAsync();

        Assert.Equal("Running", up.BackendState);
        var request = Assert.Single(_backend.Ups);
        Assert.Equal(new Uri("http://control.test:8080"), request.LoginServer);
        Assert.Equal("mwauth-x", request.AuthKey);
        Assert.Equal(["tag:web"], request.AdvertiseTags);
        Assert.Equal("Stopped", down.BackendState);
        Assert.True(logout.ControlNotified);
        Assert.Equal(1, _backend.Downs);
        Assert.Equal(1, _backend.Logouts);
    }

    [Fact]
    public async Task Version_AnswersAVersion()
    {
        var version = await _client.VersionAsync();

        Assert.False(string.IsNullOrEmpty(version.Version));
    }

    [Fact]
    public void Socket_IsUserOnlyInA0755Directory()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_host.SocketPath));
        var directory = Path.GetDirectoryName(_host.SocketPath)!;
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task StartAsync_SocketOfALiveDaemon_Refused()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => LocalApiServer.StartAsync(_host.SocketPath, _backend));
    }

    [Fact]
    public async Task StartAsync_StaleSocket_ReplacedAndServed()
    {
        var directory = Directory.CreateTempSubdirectory("mw-lapi").FullName;
        try
        {
            var path = Path.Combine(directory, "meshwired.sock");
            // .NET unlinks the sockets it binds when they close, so the leftover of a crash is stood in for by an
            // empty file nobody listens on.
            File.WriteAllBytes(path, []);
            await using var server = await LocalApiServer.StartAsync(path, _backend);
            using var client = new LocalApiClient(path);
            Assert.Equal("Running", (await client.StatusAsync()).BackendState);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task StartAsync_PathIsANonEmptyFile_RefusedAndKept()
    {
        var path = Path.Combine(_host.Directory, "not-a-socket");
        File.WriteAllText(path, "data");

        await Assert.ThrowsAsync<InvalidOperationException>(() => LocalApiServer.StartAsync(path, _backend));
        Assert.Equal("data", File.ReadAllText(path));
    }

    [Fact]
    public async Task Client_NoDaemon_ThrowsUnavailableNamingTheSocket()
    {
        var path = Path.Combine(_host.Directory, "nobody.sock");
        using var client = new LocalApiClient(path);

        var error = await Assert.ThrowsAsync<LocalApiUnavailableException>(() => client.StatusAsync());

        Assert.Contains(path, error.Message);
        Assert.StartsWith("meshwired is not running", error.Message);
    }

    private HttpClient RawClient() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(_host.SocketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://meshwired/") };

    private async Task<HttpResponseMessage> SendAsync(string method, string path, string? body)
    {
        using var http = RawClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), "/localapi/v0/" + path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await http.SendAsync(request);
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("error").GetString()!;
    }
}
