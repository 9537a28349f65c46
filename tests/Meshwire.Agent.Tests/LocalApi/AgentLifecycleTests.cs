using Meshwire.Agent.LocalApi;
using Meshwire.Agent.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Agent.Tests.LocalApi;

/// <summary>up / down / logout / restart of the agent against a real control server on loopback, with a fake engine.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AgentLifecycleTests : AgentLab
{
    /// <summary>An agent without an unattended login server: it waits for up (or resumes what its prefs want).</summary>
    private Node Start(string? state = null, string hostname = "node", string? authKey = null, bool unattended = false) =>
        StartAgent(state, new AgentOptions
        {
            LoginServer = unattended ? Control.Url : null,
            AuthKey = authKey,
            Hostname = hostname,
            Endpoints = _ => ["10.0.0.9:41641"],
            MinBackoff = FastBackoff,
            MaxBackoff = MaxFastBackoff,
        });

    private async Task<(Node A, Node B)> TwoRunningAsync(string? keyA = null)
    {
        var key = await Control.AuthKeyAsync();
        var a = Start(hostname: "alpha");
        var b = Start(hostname: "beta");
        await Eventually.TrueAsync(() => a.Agent.State == BackendState.NeedsLogin, "a fresh node to need a login");
        await a.Agent.UpAsync(new UpRequest { LoginServer = Control.Url, AuthKey = keyA ?? key });
        await b.Agent.UpAsync(new UpRequest { LoginServer = Control.Url, AuthKey = key });
        // The engine takes a map's peers before the agent publishes the map itself (Agent.Apply), so wait for both.
        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null && a.Agent.Netmap?.Peers.Count == 1, "alpha to see beta");
        await Eventually.TrueAsync(() => b.Agent.Netmap?.Peers.Count == 1, "beta to see alpha");
        return (a, b);
    }

    [Fact]
    public async Task UpAsync_WithAuthKey_RunningWithPeersAndPrefs()
    {
        var (a, b) = await TwoRunningAsync();

        Assert.Equal(BackendState.Running, await a.Agent.WaitForSettledAsync(TimeSpan.FromSeconds(5)));
        var prefs = a.Store.LoadPrefs();
        Assert.True(prefs.WantRunning);
        Assert.True(prefs.Registered);
        Assert.Null(prefs.AuthKey);
        Assert.Equal(Control.Url.ToString(), prefs.LoginServer);
        Assert.NotEmpty(a.Interface.Current.Addresses);
        var status = NetmapQueries.Status(a.Agent.Snapshot(), ((ILocalBackend)a.Agent).Paths, "test");
        Assert.Equal("beta", Assert.Single(status.Peers).Name);
        Assert.Equal("direct", status.Peers[0].Path.Kind);
    }

    [Fact]
    public async Task DownAsync_Running_PeersAndAddressesRemovedStoppedRegistrationKept()
    {
        var (a, b) = await TwoRunningAsync();

        await a.Agent.DownAsync();

        Assert.Equal(BackendState.Stopped, a.Agent.State);
        Assert.Empty(a.Engine.GetStatus().Peers);
        Assert.Empty(a.Interface.Current.Addresses);
        Assert.Null(a.Agent.Netmap);
        Assert.False(a.Agent.Connected);
        Assert.Equal(a.Store.Keys.NodeKey, a.Engine.GetStatus().PrivateKey);
        var prefs = a.Store.LoadPrefs();
        Assert.False(prefs.WantRunning);
        Assert.True(prefs.Registered);
        await Eventually.TrueAsync(() => b.Agent.Netmap!.Peers.Values.Single().Online == false, "control to see alpha leave");
    }

    [Fact]
    public async Task UpAsync_AfterDown_ResumesWithoutAKey()
    {
        var oneOff = await Control.AuthKeyAsync(reusable: false);
        var (a, b) = await TwoRunningAsync(oneOff);
        await a.Agent.DownAsync();

        await a.Agent.UpAsync(new UpRequest());

        await Eventually.TrueAsync(() => a.Agent.Connected && a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha back with beta");
        Assert.Equal(BackendState.Running, a.Agent.State);
        Assert.Null(a.Agent.LastError);
    }

    [Fact]
    public async Task LogoutAsync_Running_ControlToldRegistrationAndCacheForgotten()
    {
        var (a, b) = await TwoRunningAsync();
        var id = a.Agent.Netmap!.Self.Id;

        var warning = await a.Agent.LogoutAsync();

        Assert.Null(warning);
        Assert.Equal(BackendState.NeedsLogin, a.Agent.State);
        Assert.Empty(a.Engine.GetStatus().Peers);
        Assert.False(File.Exists(a.Store.NetmapPath));
        var prefs = a.Store.LoadPrefs();
        Assert.False(prefs.Registered);
        Assert.False(prefs.WantRunning);
        await Eventually.TrueAsync(() => b.Engine.Peer(a.Store.Keys.NodePublicKey) is null, "alpha to leave beta's engine");

        // Without a new key control refuses the logged-out node key; the loop stops with the reason.
        await a.Agent.UpAsync(new UpRequest());
        // (A transient channel error may be reported first; the refusal follows on the next attempt.)
        await Eventually.TrueAsync(() => a.Agent.State == BackendState.NeedsLogin, "control to refuse the logged-out key");
        Assert.NotNull(a.Agent.LastError);
        Assert.NotEqual(string.Empty, id);
    }

    [Fact]
    public async Task UpAsync_BadAuthKey_NeedsLoginWithTheRefusal()
    {
        var a = Start(hostname: "alpha");

        await a.Agent.UpAsync(new UpRequest { LoginServer = Control.Url, AuthKey = "mwauth-nonsense" });

        await Eventually.TrueAsync(() => a.Agent.State == BackendState.NeedsLogin, $"control to refuse the key (last error: {a.Agent.LastError})");
        Assert.Contains("auth", a.Agent.LastError);
    }

    [Fact]
    public async Task UpAsync_NoLoginServerKnown_Refused()
    {
        var a = Start();
        await Eventually.TrueAsync(() => a.Agent.State == BackendState.NeedsLogin, "the agent to start");

        await Assert.ThrowsAsync<AgentCommandException>(() => a.Agent.UpAsync(new UpRequest()));
    }

    [Fact]
    public async Task RunAsync_RestartWithWantRunning_ResumesByItself()
    {
        var (a, b) = await TwoRunningAsync();
        await StopAsync(a);

        var restarted = Start(state: a.Store.Directory, hostname: "alpha");

        await Eventually.TrueAsync(() => restarted.Agent.Connected && restarted.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha to resume");
        Assert.Equal(BackendState.Running, restarted.Agent.State);
    }

    [Fact]
    public async Task RunAsync_RestartAfterDown_StaysStopped()
    {
        var (a, _) = await TwoRunningAsync();
        await a.Agent.DownAsync();
        await StopAsync(a);

        var restarted = Start(state: a.Store.Directory, hostname: "alpha");

        await Eventually.TrueAsync(() => restarted.Agent.State == BackendState.Stopped, "the restarted agent to stay down");
        Assert.Empty(restarted.Engine.GetStatus().Peers);
    }

    [Fact]
    public async Task EditPrefsAsync_WantRunningFalseThenTrue_DownThenUp()
    {
        var (a, b) = await TwoRunningAsync(await Control.AuthKeyAsync("alice@example.com"));

        await a.Agent.EditPrefsAsync(new PrefsEdit { WantRunning = false });
        Assert.Equal(BackendState.Stopped, a.Agent.State);
        Assert.Empty(a.Engine.GetStatus().Peers);

        await Control.Server.Service.SetPolicyAsync("""{"tagOwners": {"tag:web": ["alice@example.com"]}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}""");
        await a.Agent.EditPrefsAsync(new PrefsEdit { WantRunning = true, AdvertiseTags = ["tag:web"] });
        await Eventually.TrueAsync(() => a.Agent.Connected && a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha back");
        Assert.Equal(["tag:web"], a.Store.LoadPrefs().AdvertiseTags);
        await Eventually.TrueAsync(() => a.Agent.Netmap?.Self.Tags.SequenceEqual(["tag:web"]) == true, "control to tag alpha");
    }

    [Fact]
    public async Task UpAsync_AdvertisedTagNotOwned_NeedsLoginWithTheRefusal()
    {
        var (a, _) = await TwoRunningAsync();

        await a.Agent.EditPrefsAsync(new PrefsEdit { AdvertiseTags = ["tag:nobody-owns"] });

        await Eventually.TrueAsync(() => a.Agent.State == BackendState.NeedsLogin, "control to refuse the tag");
        Assert.Contains("tag:nobody-owns", a.Agent.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalApi_UpThroughTheSocket_RunningAndStatusShowsThePeer()
    {
        var key = await Control.AuthKeyAsync();
        var b = Start(hostname: "beta");
        await b.Agent.UpAsync(new UpRequest { LoginServer = Control.Url, AuthKey = key });
        var a = Start(hostname: "alpha");
        await using var host = await Meshwire.LocalApiTesting.LocalApiHost.StartAsync(a.Agent);
        using var client = new LocalApiClient(host.SocketPath);

        var up = await client.UpAsync(new UpBody { LoginServer = Control.Url.ToString(), AuthKey = key, Hostname = "alpha" });
        Assert.Equal("Running", up.BackendState);
        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha to see beta");

        var status = await client.StatusAsync();
        Assert.Equal("alpha", status.Self.Name);
        Assert.Equal("beta", Assert.Single(status.Peers).Name);
        var who = await client.WhoIsAsync(status.Peers[0].Addresses[0] + ":22");
        Assert.Equal("beta", who!.Node.ComputedName);
        Assert.Equal("alice", who.UserProfile.LoginName);

        var down = await client.DownAsync();
        Assert.Equal("Stopped", down.BackendState);
        Assert.Empty(down.Peers);
    }
}
