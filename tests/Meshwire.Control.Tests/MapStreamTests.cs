using Meshwire.Control.Channel;
using Meshwire.Control.Client;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests;

public abstract class MapStreamTests(ITestDatabase database) : DatabaseTests(database)
{
    [DbFact]
    public async Task StreamMap_PeerJoins_DeltaReachesExistingNode()
    {
        await using var server = await StartAsync();
        var a = await server.JoinAsync("alpha");
        Assert.True(a.Registered.Authorized);
        await using var watchA = new StreamWatcher(a, "192.0.2.1:41641");
        var first = await watchA.WaitAsync(v => true);
        Assert.Empty(first.Peers);
        Assert.Equal("alpha", first.Self.Name);
        Assert.StartsWith("100.", first.Self.Addresses[0], StringComparison.Ordinal);
        Assert.StartsWith("fd7a:115c:a1e0:", first.Self.Addresses[1], StringComparison.Ordinal);
        Assert.NotEmpty(first.PacketFilter);

        var b = await server.JoinAsync("beta");
        await using var watchB = new StreamWatcher(b, "192.0.2.2:41641");
        var viewB = await watchB.WaitAsync(v => v.Peers.Count == 1);
        var seenA = Assert.Single(viewB.Peers.Values);
        Assert.Equal(a.NodeKey, seenA.NodeKey);
        Assert.Equal(["192.0.2.1:41641"], seenA.Endpoints);
        Assert.Equal(a.DiscoKey, seenA.DiscoKey);

        var viewA = await watchA.WaitAsync(v => v.Peers.Values.Any(p => p.NodeKey == b.NodeKey && p.Endpoints.Count == 1));
        Assert.Equal("beta", viewA.Peers.Values.Single().Name);
        Assert.Equal("alice", viewA.Peers.Values.Single().User);
    }

    [DbFact]
    public async Task DeleteNode_StreamingPeer_GetsRemoval()
    {
        await using var server = await StartAsync();
        var a = await server.JoinAsync("alpha");
        var b = await server.JoinAsync("beta");
        await using var watchA = new StreamWatcher(a);
        await watchA.WaitAsync(v => v.Peers.Count == 1);
        await server.Service.DeleteNodeAsync("beta");
        await watchA.WaitAsync(v => v.Peers.Count == 0);
        Assert.Contains(watchA.Messages.OfType<MapDelta>(), d => d.PeersRemoved?.Count == 1);
    }

    [DbFact]
    public async Task Logout_StreamingPeer_GetsRemovalAndNodeIsExpired()
    {
        await using var server = await StartAsync();
        var a = await server.JoinAsync("alpha");
        var b = await server.JoinAsync("beta");
        await using var watchA = new StreamWatcher(a);
        await watchA.WaitAsync(v => v.Peers.Count == 1);
        await b.Client.LogoutAsync(b.NodeKey, "beta");
        await watchA.WaitAsync(v => v.Peers.Count == 0);
        Assert.True((await server.Service.ListNodesAsync()).Single(n => n.Name == "beta").Expired);
    }

    [DbFact]
    public async Task ExpireNode_KeyExpiryPassed_NodeLeavesMaps()
    {
        // An expiry shorter than the channel's keys live: a longer jump of the clock would end the channel first.
        var expiry = ChannelConstants.ChannelLifetime - TimeSpan.FromSeconds(20);
        await using var server = await StartAsync(o => o.NodeKeyExpiry = expiry);
        var a = await server.JoinAsync("alpha");
        var b = await server.JoinAsync("beta");
        Assert.InRange(server.Time.GetUtcNow() + expiry - b.Registered.KeyExpiry!.Value, TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        await using var watchA = new StreamWatcher(a);
        await watchA.WaitAsync(v => v.Peers.Count == 1);
        server.Time.Advance(expiry + TimeSpan.FromSeconds(1));
        await server.Service.SweepExpiredAsync();
        await watchA.WaitErrorAsync();
        Assert.Equal(ErrorCodes.NodeKeyExpired, watchA.Error!.Code);
    }

    [DbFact]
    public async Task SetPolicy_RestrictsVisibility_PeersRemovedAndFilterChanged()
    {
        await using var server = await StartAsync();
        var a = await server.JoinAsync("alpha", await server.AuthKeyAsync("alice@example.com"));
        var b = await server.JoinAsync("beta", await server.AuthKeyAsync("bob@example.com"));
        await using var watchA = new StreamWatcher(a);
        await watchA.WaitAsync(v => v.Peers.Count == 1);
        await server.Service.SetPolicyAsync("""{"acls": [{"action": "accept", "src": ["alice@example.com"], "dst": ["alice@example.com:*"]}]}""");
        // Removal and filter may arrive in one delta or two (the writer drains whenever it wakes).
        var view = await watchA.WaitAsync(v => v.Peers.Count == 0 && !v.PacketFilter.Any(r => r.Sources.Contains("0.0.0.0/0")));
        var rule = Assert.Single(view.PacketFilter);
        Assert.Equal(view.Self.Addresses, rule.Sources);
    }

    [DbFact]
    public async Task Join_SameHostname_GetsSuffixAndDistinctAddresses()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync(reusable: true);
        await server.JoinAsync("web", key);
        await server.JoinAsync("web", key);
        var nodes = await server.Service.ListNodesAsync();
        Assert.Equal(["web", "web-1"], nodes.Select(n => n.Name).Order());
        Assert.Equal(2, nodes.Select(n => n.IPv4).Distinct().Count());
        Assert.Equal(2, nodes.Select(n => n.IPv6).Distinct().Count());
    }

    [DbFact]
    public async Task Join_RequireApproval_InvisibleUntilApproved()
    {
        await using var server = await StartAsync(o => o.RequireApproval = true);
        var a = await server.JoinAsync("alpha");
        Assert.True(a.Registered.NeedsApproval);
        await server.Service.ApproveNodeAsync("alpha");
        var b = await server.JoinAsync("beta");
        await using var watchA = new StreamWatcher(a);
        await watchA.WaitAsync(v => v.Peers.Count == 0);
        await server.Service.ApproveNodeAsync("beta");
        await watchA.WaitAsync(v => v.Peers.Count == 1);
    }

    [DbFact]
    public async Task Register_TaggedKey_NodeTaggedAndKeyNeverExpires()
    {
        await using var server = await StartAsync();
        var node = await server.JoinAsync("db", await server.AuthKeyAsync(tags: ["tag:server"]));
        Assert.Null(node.Registered.KeyExpiry);
        var map = await node.Client.GetMapAsync(node.MapRequest());
        Assert.Equal(["tag:server"], map.Self.Tags);
    }
}

public sealed class MapStreamTestsOnSqlite() : MapStreamTests(SqliteDatabase.Instance);

[Collection(PostgresCollection.Name)]
public sealed class MapStreamTestsOnPostgres(PostgresServer postgres) : MapStreamTests(postgres);
