using System.Text.Json;
using Meshwire.Agent.State;
using Meshwire.LocalApiTesting;

namespace Meshwire.Cli.Tests;

/// <summary>The CLI's entry point against a LocalAPI on a temporary socket (fake backend): output and exit codes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliTests : IAsyncLifetime
{
    private readonly FakeBackend _backend = new();
    private LocalApiHost _host = null!;

    public async Task InitializeAsync() => _host = await LocalApiHost.StartAsync(_backend);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var cli = new Cli(stdout, stderr) { PingInterval = TimeSpan.Zero, UpPoll = TimeSpan.FromMilliseconds(20) };
        var code = await cli.RunAsync(["--socket", _host.SocketPath, .. args]);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Status_Running_ListsSelfAndPeersWithPaths()
    {
        var (code, output, _) = await RunAsync("status");

        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("100.64.0.1", lines[0]);
        Assert.Contains("alpha", lines[0]);
        Assert.Contains("beta", lines[1]);
        Assert.Contains("direct 10.1.1.2:41641", lines[1]);
        Assert.Contains("rx 1.5 KiB tx 2.9 KiB", lines[1]);
        Assert.Contains("relay \"r1\"", lines[2]);
        Assert.Contains("tag:web", lines[2]);
    }

    [Fact]
    public async Task Status_Json_IsTheLocalApiStatus()
    {
        var (code, output, _) = await RunAsync("status", "--json");

        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(output);
        Assert.Equal("Running", document.RootElement.GetProperty("backendState").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("peers").GetArrayLength());
    }

    [Fact]
    public async Task Status_Stopped_SaysHowToStart()
    {
        _backend.State = BackendState.Stopped;
        _backend.Netmap = null;

        var (code, output, _) = await RunAsync("status");

        Assert.Equal(0, code);
        Assert.Contains("meshwire up", output);
    }

    [Theory]
    [InlineData(new string[0], "100.64.0.1\nfd7a:115c:a1e0::1\n")]
    [InlineData(new[] { "-4" }, "100.64.0.1\n")]
    [InlineData(new[] { "-6" }, "fd7a:115c:a1e0::1\n")]
    public async Task Ip_Running_PrintsAddresses(string[] flags, string expected)
    {
        var (code, output, _) = await RunAsync(["ip", .. flags]);

        Assert.Equal(0, code);
        Assert.Equal(expected, output.Replace("\r", ""));
    }

    [Fact]
    public async Task Ip_NoAddressYet_Exit1()
    {
        _backend.Netmap = null;
        _backend.State = BackendState.NeedsLogin;

        var (code, _, error) = await RunAsync("ip");

        Assert.Equal(1, code);
        Assert.Contains("NeedsLogin", error);
    }

    [Fact]
    public async Task Ping_ByName_PrintsEachReplyWithItsPath()
    {
        var (code, output, _) = await RunAsync("ping", "gamma", "-c", "2");

        Assert.Equal(0, code);
        Assert.Equal(
            "pong from gamma (100.64.0.3) via relay \"r1\" in 12ms\npong from gamma (100.64.0.3) via relay \"r1\" in 12ms\n",
            output.Replace("\r", ""));
    }

    [Fact]
    public async Task Ping_DirectPeerWithoutCount_StopsAtTheFirstDirectReply()
    {
        var (code, output, _) = await RunAsync("ping", "100.64.0.2");

        Assert.Equal(0, code);
        Assert.Equal("pong from beta (100.64.0.2) via 10.1.1.2:41641 in 3ms\n", output.Replace("\r", ""));
    }

    [Fact]
    public async Task Ping_NoReply_Exit1()
    {
        _backend.FakePaths.Replies.Clear();

        var (code, output, error) = await RunAsync("ping", "beta", "-c", "1");

        Assert.Equal(1, code);
        Assert.Contains("no reply from beta (100.64.0.2): timed out", output);
        Assert.Contains("no reply", error);
    }

    [Fact]
    public async Task Ping_UnknownHost_Exit1()
    {
        var (code, _, error) = await RunAsync("ping", "delta");

        Assert.Equal(1, code);
        Assert.Contains("delta", error);
    }

    [Fact]
    public async Task WhoIs_Peer_PrintsMachineAndUser()
    {
        var (code, output, _) = await RunAsync("whois", "100.64.0.3:443");

        Assert.Equal(0, code);
        Assert.Contains("gamma.mesh.internal", output);
        Assert.Contains("bob", output);
        Assert.Contains("tag:web", output);
    }

    [Fact]
    public async Task WhoIs_Json_HasTailscaleShape()
    {
        var (code, output, _) = await RunAsync("whois", "--json", "100.64.0.2");

        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(output);
        Assert.Equal("alice", document.RootElement.GetProperty("UserProfile").GetProperty("LoginName").GetString());
    }

    [Fact]
    public async Task WhoIs_NobodyHasIt_Exit1()
    {
        var (code, _, error) = await RunAsync("whois", "100.64.0.77");

        Assert.Equal(1, code);
        Assert.Contains("100.64.0.77", error);
    }

    [Theory]
    [InlineData("whois")]
    [InlineData("whois", "100.64.0.2:70000")]
    [InlineData("whois", "banana")]
    [InlineData("ping")]
    [InlineData("ping", "beta", "-c", "zero")]
    [InlineData("ping", "beta", "--timeout", "forever")]
    [InlineData("status", "--verbose")]
    [InlineData("ip", "-4", "-6")]
    [InlineData("up", "--login-server")]
    [InlineData("up", "--login-server", "control.example")]
    [InlineData("up", "extra")]
    [InlineData("up", "--hostname", "bad name")]
    [InlineData("frobnicate")]
    public async Task BadArguments_Exit2(params string[] args)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.NotEmpty(error);
    }

    [Fact]
    public async Task NoArguments_Exit2WithUsage()
    {
        var (code, _, error) = await RunAsync();

        Assert.Equal(2, code);
        Assert.Contains("usage: meshwire", error);
    }

    [Fact]
    public async Task Up_AuthKey_SendsPrefsAndReportsRunning()
    {
        var (code, output, _) = await RunAsync("up", "--login-server", "http://control.test:8080", "--authkey", "mwauth-k", "--hostname", "web-1", "--advertise-tags", "tag:web,tag:db");

        Assert.Equal(0, code);
        Assert.StartsWith("Running as alpha.mesh.internal", output);
        var up = Assert.Single(_backend.Ups);
        Assert.Equal("mwauth-k", up.AuthKey);
        Assert.Equal("web-1", up.Hostname);
        Assert.Equal(["tag:web", "tag:db"], up.AdvertiseTags);
    }

    [Fact]
    public async Task Up_InteractiveLogin_PrintsTheUrlOnceAndWaitsForRunning()
    {
        _backend.UpOutcome = _ => BackendState.NeedsLogin;
        _backend.AuthUrl = "http://control.test/login/xyz";
        var cli = RunAsync("up");
        await Task.Delay(200);
        Assert.False(cli.IsCompleted);

        // Only the state changes: the fake's snapshot is not atomic, and NeedsLogin without a URL means a refusal.
        _backend.State = BackendState.Running;
        var (code, output, _) = await cli.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(0, code);
        Assert.Equal(2, output.Split("http://control.test/login/xyz").Length);
        Assert.Contains("Running as", output);
    }

    [Fact]
    public async Task Up_Refused_Exit1WithTheReason()
    {
        _backend.UpOutcome = _ => BackendState.NeedsLogin;
        _backend.LastError = "authkey_used: the auth key was used already";

        var (code, _, error) = await RunAsync("up", "--authkey", "mwauth-spent");

        Assert.Equal(1, code);
        Assert.Contains("authkey_used", error);
    }

    [Fact]
    public async Task Up_TimeoutWhileWaitingForLogin_Exit1()
    {
        _backend.UpOutcome = _ => BackendState.NeedsLogin;
        _backend.AuthUrl = "http://control.test/login/xyz";

        var (code, _, error) = await RunAsync("up", "--timeout", "200ms");

        Assert.Equal(1, code);
        Assert.Contains("timed out", error);
    }

    [Fact]
    public async Task DownAndLogout_Exit0()
    {
        var down = await RunAsync("down");
        var logout = await RunAsync("logout", "--json");

        Assert.Equal(0, down.Code);
        Assert.Contains("Stopped", down.Out);
        Assert.Equal(0, logout.Code);
        using var document = JsonDocument.Parse(logout.Out);
        Assert.True(document.RootElement.GetProperty("controlNotified").GetBoolean());
        Assert.Equal(1, _backend.Downs);
        Assert.Equal(1, _backend.Logouts);
    }

    [Fact]
    public async Task Netcheck_PrintsReport()
    {
        var (code, output, _) = await RunAsync("netcheck");

        Assert.Equal(0, code);
        Assert.Contains("UDP: yes", output);
        Assert.Contains("203.0.113.7:41641", output);
        Assert.Contains("r1: 12ms", output);
    }

    [Fact]
    public async Task Version_PrintsBoth()
    {
        var (code, output, _) = await RunAsync("version");

        Assert.Equal(0, code);
        Assert.Contains("meshwire ", output);
        Assert.Contains("meshwired ", output);
    }

    [Fact]
    public async Task VersionJson_PlusOfTheBuildId_PrintedAsIs()
    {
        var (code, output, _) = await RunAsync("version", "--json");

        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var client = doc.RootElement.GetProperty("client").GetString()!;
        Assert.Contains($"\"{client}\"", output);
        Assert.DoesNotContain("\\u00", output);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("up")]
    [InlineData("down")]
    [InlineData("ping", "beta")]
    [InlineData("whois", "100.64.0.2")]
    [InlineData("netcheck")]
    public async Task AnyVerb_NoDaemon_Exit3SayingHowToStartIt(params string[] args)
    {
        var socket = Path.Combine(_host.Directory, "absent.sock");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new Cli(stdout, stderr).RunAsync(["--socket", socket, .. args]);

        Assert.Equal(3, code);
        Assert.Contains($"meshwired is not running (no socket at {socket}); start it with", stderr.ToString());
    }
}
