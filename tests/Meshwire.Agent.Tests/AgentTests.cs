using System.Net;
using Meshwire.Agent.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Agent.Tests;

/// <summary>The agent against a real control server on loopback, with a fake engine (no root needed).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AgentTests : AgentLab
{
    private Node Start(string hostname, string? authKey, string endpoint, string? state = null, Uri? server = null) =>
        StartAgent(state, new AgentOptions
        {
            LoginServer = server ?? Control.Url,
            AuthKey = authKey,
            Hostname = hostname,
            Endpoints = _ => [endpoint],
            MinBackoff = FastBackoff,
            MaxBackoff = MaxFastBackoff,
        });

    [Fact]
    public async Task RunAsync_TwoNodesJoin_EachEngineHoldsTheOtherWithItsEndpoint()
    {
        var key = await Control.AuthKeyAsync();
        var a = Start("alpha", key, "10.0.0.1:41641");
        var b = Start("beta", key, "10.0.0.2:41641");

        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey)?.Endpoint is not null, "alpha to learn beta's endpoint");
        await Eventually.TrueAsync(() => b.Engine.Peer(a.Store.Keys.NodePublicKey)?.Endpoint is not null, "beta to learn alpha's endpoint");
        // The map is published (and cached) after the engine took its peers: wait for that last step too.
        await Eventually.TrueAsync(() => a.Agent.Netmap?.Peers.Count == 1, "alpha's map to be published");

        Assert.Equal(IPEndPoint.Parse("10.0.0.2:41641"), a.Engine.Peer(b.Store.Keys.NodePublicKey)!.Endpoint);
        Assert.Equal(a.Store.Keys.NodeKey, a.Engine.GetStatus().PrivateKey);
        Assert.Equal(25, a.Engine.Peer(b.Store.Keys.NodePublicKey)!.PersistentKeepaliveInterval);
        var selfA = a.Agent.Netmap!.Self;
        Assert.Contains(a.Interface.Current.Addresses, p => selfA.Addresses.Contains(p.ToString()));
        Assert.Equal(2, a.Interface.Current.Routes.Count);
        Assert.True(File.Exists(a.Store.NetmapPath));
        Assert.True(a.Store.LoadPrefs().Registered);
        Assert.Null(a.Store.LoadPrefs().AuthKey);
    }

    [Fact]
    public async Task RunAsync_PeerDeletedByAdmin_DeltaRemovesItFromEngine()
    {
        var key = await Control.AuthKeyAsync();
        var a = Start("alpha", key, "10.0.0.1:41641");
        var b = Start("beta", key, "10.0.0.2:41641");
        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha to see beta");
        await Eventually.TrueAsync(() => b.Agent.Netmap is not null, "beta's own map");

        // Beta is stopped first so its stream cannot race the deletion.
        await StopAsync(b);
        await Control.Server.Service.DeleteNodeAsync(b.Agent.Netmap!.Self.Id);

        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is null, "beta to leave alpha's engine");

        // The cache is written after the engine is updated: wait for it rather than read it at once.
        await Eventually.TrueAsync(() => a.Store.LoadNetmap()?.Peers.Count == 0, "alpha's cached netmap to drop beta");
    }

    [Fact]
    public async Task RunAsync_ControlGoesAway_KeepsPeersThenReconnects()
    {
        var key = await Control.AuthKeyAsync();
        var a = Start("alpha", key, "10.0.0.1:41641");
        var b = Start("beta", key, "10.0.0.2:41641");
        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null && a.Agent.Connected, "alpha to see beta");

        await Control.StopAsync();
        await Eventually.TrueAsync(() => !a.Agent.Connected, "alpha to notice control is gone");
        await Task.Delay(500); // a few failed reconnects
        Assert.NotNull(a.Engine.Peer(b.Store.Keys.NodePublicKey));

        await Control.StartAgainAsync();
        await Eventually.TrueAsync(() => a.Agent.Connected, "alpha to reconnect");
        Assert.NotNull(a.Engine.Peer(b.Store.Keys.NodePublicKey));
    }

    [Fact]
    public async Task RunAsync_CachedNetmapAndNoControl_AppliesCacheAtOnce()
    {
        var key = await Control.AuthKeyAsync();
        var state = Directory.CreateTempSubdirectory("meshwire-agent").FullName;
        var a = Start("alpha", key, "10.0.0.1:41641", state);
        var b = Start("beta", key, "10.0.0.2:41641");
        await Eventually.TrueAsync(() => a.Engine.Peer(b.Store.Keys.NodePublicKey) is not null, "alpha to see beta");
        await StopAsync(a);

        // Same state, control unreachable (nothing listens on port 9 of loopback): the cache alone configures the engine.
        var restarted = Start("alpha", null, "10.0.0.1:41641", state, new Uri("http://127.0.0.1:9/"));
        await Eventually.TrueAsync(() => restarted.Agent.Netmap is not null, "the cached map", 5000);

        Assert.NotNull(restarted.Engine.Peer(b.Store.Keys.NodePublicKey));
        Assert.NotEmpty(restarted.Interface.Current.Addresses);
        Assert.False(restarted.Agent.Connected);
    }

    [Fact]
    public async Task RunAsync_RestartWithOneOffKeySpent_RenewsWithoutIt()
    {
        var oneOff = await Control.AuthKeyAsync(reusable: false);
        var state = Directory.CreateTempSubdirectory("meshwire-agent").FullName;
        var a = Start("alpha", oneOff, "10.0.0.1:41641", state);
        await Eventually.TrueAsync(() => a.Agent.Connected, "alpha to connect");
        await StopAsync(a);

        // The same (spent) key is passed again, as a service unit would: the agent renews instead of redeeming it.
        var restarted = Start("alpha", oneOff, "10.0.0.1:41641", state);
        await Eventually.TrueAsync(() => restarted.Agent.Connected, "alpha to reconnect");
    }
}
